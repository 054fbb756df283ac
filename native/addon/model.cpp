#include "model.h"

#include <string>

#include "conversions.h"
#include "fault.h"
#include "promise_worker.h"
#include "thread_job.h"
#include "transcribe_hooks.h"

namespace talk2me::addon {
namespace {

Napi::FunctionReference *model_constructor(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>(); }

Napi::Promise disposed_error(Napi::Env env) { return rejected(env, code::kDisposed, "The model has been disposed"); }

}  // namespace

Napi::Function AddonModel::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "Model",
                                    {
                                        StaticMethod<&guarded<&AddonModel::Load>>("load"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Transcribe>>("transcribe"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Cancel>>("cancel"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Trim>>("trim"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Recreate>>("recreate"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Memory>>("memory"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Info>>("info"),
                                        InstanceMethod<&AddonModel::Guarded<&AddonModel::Dispose>>("dispose"),
                                        InstanceAccessor<&AddonModel::Guarded<&AddonModel::IsDisposed>>("disposed"),
                                    });
  auto *ref = new Napi::FunctionReference(Napi::Persistent(ctor));
  env.SetInstanceData<Napi::FunctionReference>(ref);
  return ctor;
}

// Only Load() constructs models: it passes the loaded engine in an External.
AddonModel::AddonModel(const Napi::CallbackInfo &info) : Napi::ObjectWrap<AddonModel>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Use Model.load(path, options) to create a model");
  }
  engine_ = *info[0].As<Napi::External<std::shared_ptr<Engine>>>().Data();
  env_ = info.Env();
  AccountMemory();
}

// Runs when the garbage collector takes a model nobody disposed. No work of this model can be in
// flight then: every operation holds a reference to the model object until it settles. Dropping
// engine_ frees the weights and states here, on the JavaScript thread, unless an operation's
// closure still holds the engine (only while the environment is torn down), in which case the last
// holder frees it.
AddonModel::~AddonModel() {
  try {
    if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env_, -reported_bytes_);
  } catch (...) {
    // A destructor must not throw; V8 merely keeps counting the bytes.
  }
  reported_bytes_ = 0;
  engine_.reset();
}

void AddonModel::AccountMemory() {
  const int64_t now = engine_ ? static_cast<int64_t>(engine_->native_bytes()) : 0;
  if (now == reported_bytes_) return;
  Napi::MemoryManagement::AdjustExternalMemory(env_, now - reported_bytes_);
  reported_bytes_ = now;
}

Napi::Value AddonModel::Load(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Expected a string for the model path");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const ModelOptions options = to_model_options(info[1]);
  // The promise's owner is the constructor: nothing else exists yet to keep alive.
  return ThreadJob<std::shared_ptr<Engine>>::Start(
      env, "talk2me.load", model_constructor(env)->Value(), [path, options] { return Engine::load(path, options); },
      [](Napi::Env env, std::shared_ptr<Engine> &engine) -> Napi::Value {
        auto external = Napi::External<std::shared_ptr<Engine>>::New(env, &engine);
        return model_constructor(env)->New({external});
      });
}

Napi::Value AddonModel::Transcribe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (disposing_) return disposed_error(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "Expected a Float32Array of 16 kHz mono samples");
  }
  Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
  const TranscribeOptions options = to_transcribe_options(info[1]);
  const uint32_t job = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  // { onSegment, onProgress }: made into thread-safe functions before any work starts.
  std::shared_ptr<TranscribeHookBridge> bridge = TranscribeHookBridge::From(env, info.Length() > 3 ? info[3] : env.Undefined());
  fault_point("transcribe");
  // Copied now: JavaScript may reuse or detach its buffer while the work runs.
  auto pcm = std::make_shared<std::vector<float>>(samples.Data(), samples.Data() + samples.ElementLength());
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  if (job != 0) jobs_[job] = cancelled;
  std::shared_ptr<Engine> engine = engine_;
  return ThreadJob<TranscribeResult>::Start(
      env, "talk2me.transcribe", Value(), [engine, pcm, options, cancelled, bridge] {
        // The callbacks stop holding the event loop the moment whisper is done, however it ends.
        struct ReleaseAtEnd {
          TranscribeHookBridge &bridge;
          ~ReleaseAtEnd() { bridge.Release(); }
        } release{*bridge};
        return engine->transcribe(*pcm, options, cancelled, bridge->hooks());
      },
      [](Napi::Env env, TranscribeResult &r) -> Napi::Value {
        fault_point("transcribe.result");
        return to_js(env, r);
      },
      [this, job] {
        if (job != 0) jobs_.erase(job);
        AccountMemory();  // a first transcription may have built a state
      });
}

Napi::Value AddonModel::Cancel(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "Expected a job id");
  const auto it = jobs_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == jobs_.end()) return Napi::Boolean::New(info.Env(), false);
  it->second->store(true);
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value AddonModel::Trim(const Napi::CallbackInfo &info) {
  if (disposing_) return disposed_error(info.Env());
  std::shared_ptr<Engine> engine = engine_;
  return ThreadJob<TrimReport>::Start(
      info.Env(), "talk2me.trim", Value(), [engine] { return engine->trim(); },
      [](Napi::Env env, TrimReport &r) -> Napi::Value { return to_js(env, r); }, [this] { AccountMemory(); });
}

Napi::Value AddonModel::Recreate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (disposing_) return disposed_error(env);
  std::optional<std::string> path;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "Expected a string for the model path");
    path = info[0].As<Napi::String>().Utf8Value();
  }
  std::shared_ptr<Engine> engine = engine_;
  return ThreadJob<RecreateReport>::Start(
      env, "talk2me.recreate", Value(), [engine, path] { return engine->recreate(path); },
      [](Napi::Env env, RecreateReport &r) -> Napi::Value { return to_js(env, r); }, [this] { AccountMemory(); });
}

Napi::Value AddonModel::Memory(const Napi::CallbackInfo &info) {
  if (disposing_) return disposed_error(info.Env());
  std::shared_ptr<Engine> engine = engine_;
  // On libuv's pool: memory() takes the engine's and the pool's locks (held only briefly, never across
  // whisper work), reads /proc and at most asks the CUDA runtime, so it returns promptly even while
  // every state transcribes. It must not run on the JavaScript thread: a GPU probe can block.
  return PromiseWorker<MemoryReport>::Start(
      info.Env(), "talk2me.memory", Value(), [engine] { return engine->memory(); },
      [](Napi::Env env, MemoryReport &m) -> Napi::Value { return to_js(env, m); });
}

Napi::Value AddonModel::Info(const Napi::CallbackInfo &info) {
  if (disposing_) throw make_error(info.Env(), code::kDisposed, "The model has been disposed");
  fault_point("info");
  return to_js(info.Env(), engine_->info());
}

Napi::Value AddonModel::Dispose(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  disposing_ = true;
  for (auto &[job, flag] : jobs_) flag->store(true);
  std::shared_ptr<Engine> engine = engine_;
  return ThreadJob<bool>::Start(
      env, "talk2me.dispose", Value(),
      [engine] {
        engine->dispose();
        return true;
      },
      [](Napi::Env env, bool &) -> Napi::Value { return env.Undefined(); }, [this] { AccountMemory(); });
}

Napi::Value AddonModel::IsDisposed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), disposing_); }

}  // namespace talk2me::addon
