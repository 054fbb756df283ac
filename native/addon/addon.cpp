// Module entry: the Model class, systemInfo(), setLogger(), and spawnPiped()/reapChild().
#include <napi.h>

#include "ggml-backend.h"
#include "gpu_probe.h"
#include "log_bridge.h"
#include "log_router.h"
#include "memory_probe.h"
#include "model.h"
#include "spawn_bridge.h"
#include "whisper.h"

namespace talk2me::addon {
namespace {

Napi::Value SystemInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object js = Napi::Object::New(env);
  js.Set("whisperVersion", Napi::String::New(env, whisper_version()));
  js.Set("features", Napi::String::New(env, whisper_print_system_info()));
  Napi::Array backends = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
    backends.Set(static_cast<uint32_t>(i), Napi::String::New(env, ggml_backend_reg_name(ggml_backend_reg_get(i))));
  }
  js.Set("backends", backends);
  js.Set("gpuProbe", Napi::Boolean::New(env, gpu_probe_compiled()));
  return js;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Until JavaScript asks for logs, whisper.cpp stays quiet (its default prints to stderr).
  install_log_router();
  pin_mmap_threshold();
  exports.Set("Model", AddonModel::Define(env));
  exports.Set("systemInfo", Napi::Function::New<SystemInfo>(env, "systemInfo"));
  exports.Set("setLogger", Napi::Function::New<SetLogger>(env, "setLogger"));
  exports.Set("spawnPiped", Napi::Function::New<SpawnPiped>(env, "spawnPiped"));
  exports.Set("reapChild", Napi::Function::New<ReapChild>(env, "reapChild"));
  napi_add_env_cleanup_hook(env, [](void *) { ReleaseLogger(); }, nullptr);
  return exports;
}

}  // namespace
}  // namespace talk2me::addon

// NODE_API_MODULE pastes its argument into a name, so it needs a plain identifier.
static Napi::Object InitTalk2me(Napi::Env env, Napi::Object exports) { return talk2me::addon::Init(env, exports); }
NODE_API_MODULE(talk2me, InitTalk2me)
