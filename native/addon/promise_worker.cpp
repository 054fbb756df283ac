#include "promise_worker.h"

namespace talk2me::addon {

Napi::Error make_error(Napi::Env env, const std::string &code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Promise rejected(Napi::Env env, const std::string &code, const std::string &message) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(make_error(env, code, message).Value());
  return deferred.Promise();
}

}  // namespace talk2me::addon
