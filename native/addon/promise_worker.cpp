#include "promise_worker.h"

#include "boundary.h"

namespace talk2me::addon {

Napi::Error make_error(Napi::Env env, const std::string &code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

void reject_current(Napi::Env env, Napi::Promise::Deferred &deferred) noexcept {
  std::string code;
  std::string message;
  describe_current_exception(code, message);
  try {
    if (code.empty()) {
      deferred.Reject(Napi::Error::New(env, "Out of memory").Value());
    } else {
      deferred.Reject(make_error(env, code, message).Value());
    }
  } catch (...) {
    // Not even the rejection could be built (out of memory): the Promise stays pending rather than
    // Node aborting.
  }
}

Napi::Promise rejected(Napi::Env env, const std::string &code, const std::string &message) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(make_error(env, code, message).Value());
  return deferred.Promise();
}

}  // namespace talk2me::addon
