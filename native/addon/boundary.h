#pragma once
// The N-API boundary: no C++ exception may cross it, or Node aborts (std::terminate). node-addon-api
// only converts Napi::Error by itself, so every exported function and every callback that runs on
// the JavaScript thread goes through at_boundary(), which turns any exception into a JavaScript
// Error with a `code`: the core's code for a CoreError, OUT_OF_MEMORY for std::bad_alloc,
// INTERNAL_ERROR for anything else.
#include <napi.h>

#include <string>

namespace talk2me::addon {

// Called inside a catch block: rethrows the exception in flight as a Napi::Error carrying a code.
[[noreturn]] void rethrow_as_js(Napi::Env env);

// The code and message the exception in flight maps to; called inside a catch block. Never throws.
void describe_current_exception(std::string &code, std::string &message) noexcept;

template <typename Fn>
auto at_boundary(Napi::Env env, Fn &&fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    rethrow_as_js(env);
  }
}

// An exported function wrapped by at_boundary (for Napi::Function::New and StaticMethod).
template <Napi::Value (*Fn)(const Napi::CallbackInfo &)>
Napi::Value guarded(const Napi::CallbackInfo &info) {
  return at_boundary(info.Env(), [&] { return Fn(info); });
}

}  // namespace talk2me::addon
