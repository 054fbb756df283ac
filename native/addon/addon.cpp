// Module entry: the Model class, systemInfo(), setLogger(), spawnPiped()/reapChild(), and the
// tests' _injectFault(). Every function is wrapped by guarded(): no C++ exception reaches Node.
#include <napi.h>

#include "boundary.h"
#include "context.h"
#include "fault.h"
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
  fault_point("systemInfo");
  Napi::Object js = Napi::Object::New(env);
  js.Set("whisperVersion", Napi::String::New(env, whisper_version()));
  js.Set("features", Napi::String::New(env, whisper_print_system_info()));
  Napi::Array backends = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
    backends.Set(static_cast<uint32_t>(i), Napi::String::New(env, ggml_backend_reg_name(ggml_backend_reg_get(i))));
  }
  js.Set("backends", backends);
  js.Set("gpuProbe", Napi::Boolean::New(env, gpu_probe_compiled()));
  js.Set("liveContexts", Napi::Number::New(env, static_cast<double>(Context::live_count())));
  // V8's count of native memory that addons report (napi_adjust_external_memory, read by adjusting
  // by 0): what weighs on its garbage collector. process.memoryUsage().external does not show it;
  // it counts only ArrayBuffer backing stores.
  js.Set("externalMemory", Napi::Number::New(env, static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(env, 0))));
  return js;
}

// _injectFault(site, kind) arms a fault site of native/core/fault.h; _injectFault(null) disarms.
// For tests only: nothing calls it in production, and an unarmed site does nothing.
Napi::Value InjectFault(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
    disarm_faults();
    return env.Undefined();
  }
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "Expected a fault site name or null");
  const std::string kind = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "bad_alloc";
  FaultKind fault;
  if (kind == "bad_alloc") {
    fault = FaultKind::BadAlloc;
  } else if (kind == "runtime_error") {
    fault = FaultKind::RuntimeError;
  } else if (kind == "skip") {
    fault = FaultKind::Skip;
  } else {
    throw Napi::TypeError::New(env, "Expected bad_alloc, runtime_error or skip for the fault kind but received " + kind);
  }
  arm_fault(info[0].As<Napi::String>().Utf8Value(), fault);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Until JavaScript asks for logs, whisper.cpp stays quiet (its default prints to stderr).
  install_log_router();
  pin_mmap_threshold();
  exports.Set("Model", AddonModel::Define(env));
  exports.Set("systemInfo", Napi::Function::New<guarded<SystemInfo>>(env, "systemInfo"));
  exports.Set("setLogger", Napi::Function::New<guarded<SetLogger>>(env, "setLogger"));
  exports.Set("spawnPiped", Napi::Function::New<guarded<SpawnPiped>>(env, "spawnPiped"));
  exports.Set("reapChild", Napi::Function::New<guarded<ReapChild>>(env, "reapChild"));
  exports.Set("_injectFault", Napi::Function::New<guarded<InjectFault>>(env, "_injectFault"));
  napi_add_env_cleanup_hook(env, [](void *) { ReleaseLogger(); }, nullptr);
  return exports;
}

}  // namespace
}  // namespace talk2me::addon

// NODE_API_MODULE pastes its argument into a name, so it needs a plain identifier.
static Napi::Object InitTalk2me(Napi::Env env, Napi::Object exports) { return talk2me::addon::Init(env, exports); }
NODE_API_MODULE(talk2me, InitTalk2me)
