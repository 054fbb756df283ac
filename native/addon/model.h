#pragma once
// The JavaScript face of one Engine: `Model.load(path, options)` resolves to an instance whose
// methods each return a Promise. After dispose() every call rejects with MODEL_DISPOSED.
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include "boundary.h"
#include "engine.h"

namespace talk2me::addon {

class AddonModel : public Napi::ObjectWrap<AddonModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AddonModel(const Napi::CallbackInfo &info);
  // The finalizer of a model collected without dispose(): frees the engine (see model.cpp).
  ~AddonModel() override;

 private:
  static Napi::Value Load(const Napi::CallbackInfo &info);
  Napi::Value Transcribe(const Napi::CallbackInfo &info);
  Napi::Value Cancel(const Napi::CallbackInfo &info);
  Napi::Value Trim(const Napi::CallbackInfo &info);
  Napi::Value Recreate(const Napi::CallbackInfo &info);
  Napi::Value Memory(const Napi::CallbackInfo &info);
  Napi::Value Info(const Napi::CallbackInfo &info);
  Napi::Value Dispose(const Napi::CallbackInfo &info);
  Napi::Value IsDisposed(const Napi::CallbackInfo &info);

  // A method behind the N-API boundary: every C++ exception becomes a JavaScript Error with a code.
  template <Napi::Value (AddonModel::*Method)(const Napi::CallbackInfo &)>
  Napi::Value Guarded(const Napi::CallbackInfo &info) {
    return at_boundary(info.Env(), [&] { return (this->*Method)(info); });
  }

  // Tells V8 what the engine holds in native memory (napi_adjust_external_memory), so the garbage
  // collector weighs a model by its weights and states, not by the few bytes of its JS object.
  // Called on the JavaScript thread after every operation that can change it.
  void AccountMemory();

  napi_env env_;
  int64_t reported_bytes_ = 0;  // what V8 was last told
  // Set on the JavaScript thread the moment dispose() is called, so later calls reject at once
  // even while the engine is still winding down.
  bool disposing_ = false;
  std::shared_ptr<Engine> engine_;
  // In-flight transcriptions by the id JavaScript gave them, for cancel(). JavaScript thread only.
  std::map<uint32_t, std::shared_ptr<std::atomic<bool>>> jobs_;
};

}  // namespace talk2me::addon
