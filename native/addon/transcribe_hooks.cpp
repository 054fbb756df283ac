#include "transcribe_hooks.h"

#include "conversions.h"

namespace talk2me::addon {

std::shared_ptr<TranscribeHookBridge> TranscribeHookBridge::From(Napi::Env env, const Napi::Value &value) {
  auto bridge = std::make_shared<TranscribeHookBridge>();
  if (value.IsUndefined() || value.IsNull()) return bridge;
  if (!value.IsObject()) throw Napi::TypeError::New(env, "Expected an object of callbacks");
  Napi::Object o = value.As<Napi::Object>();
  Napi::Value on_segment = o.Get("onSegment");
  Napi::Value on_progress = o.Get("onProgress");
  if (!on_segment.IsUndefined() && !on_segment.IsFunction()) throw Napi::TypeError::New(env, "Expected a function for onSegment");
  if (!on_progress.IsUndefined() && !on_progress.IsFunction()) throw Napi::TypeError::New(env, "Expected a function for onProgress");
  if (on_segment.IsFunction()) {
    bridge->segment_ = SegmentFn::New(env, on_segment.As<Napi::Function>(), "talk2me.segment", 0, 1);
    bridge->has_segment_ = true;
  }
  if (on_progress.IsFunction()) {
    bridge->progress_ = ProgressFn::New(env, on_progress.As<Napi::Function>(), "talk2me.progress", 0, 1);
    bridge->has_progress_ = true;
  }
  return bridge;
}

TranscribeHookBridge::~TranscribeHookBridge() { Release(); }

void TranscribeHookBridge::Release() {
  if (released_.exchange(true)) return;
  if (has_segment_) segment_.Release();
  if (has_progress_) progress_.Release();
}

TranscribeHooks TranscribeHookBridge::hooks() {
  TranscribeHooks hooks;
  if (has_segment_) hooks.on_segment = [this](const Segment &s) { DeliverSegment(s); };
  if (has_progress_) hooks.on_progress = [this](int percent) { DeliverProgress(percent); };
  return hooks;
}

// env is null when the environment is going away with the call still queued: the waiting thread
// is let go all the same.
void TranscribeHookBridge::CallSegment(Napi::Env env, Napi::Function fn, std::nullptr_t *, SegmentDelivery *delivery) {
  std::unique_ptr<SegmentDelivery> owned(delivery);
  if (env != nullptr) {
    try {
      Napi::HandleScope scope(env);
      fn.Call({to_js(env, owned->segment)});
    } catch (...) {
      // A throwing listener must not stop the transcription; the TypeScript side reports its errors.
    }
  }
  owned->delivered.set_value();
}

void TranscribeHookBridge::CallProgress(Napi::Env env, Napi::Function fn, std::nullptr_t *, int *percent) {
  std::unique_ptr<int> owned(percent);
  if (env == nullptr) return;
  try {
    Napi::HandleScope scope(env);
    fn.Call({Napi::Number::New(env, *owned)});
  } catch (...) {
    // As for segments.
  }
}

void TranscribeHookBridge::DeliverSegment(const Segment &segment) noexcept {
  try {
    auto delivery = std::make_unique<SegmentDelivery>();
    delivery->segment = segment;
    std::future<void> delivered = delivery->delivered.get_future();
    // Fails only while the environment closes; then nobody is listening.
    if (segment_.BlockingCall(delivery.get()) != napi_ok) return;
    delivery.release();  // CallSegment owns it now
    delivered.wait();
  } catch (...) {
    // Out of memory: this segment is not reported; the result still carries it.
  }
}

void TranscribeHookBridge::DeliverProgress(int percent) noexcept {
  try {
    auto value = std::make_unique<int>(percent);
    if (progress_.NonBlockingCall(value.get()) == napi_ok) value.release();
  } catch (...) {
    // As for segments: progress is advice.
  }
}

}  // namespace talk2me::addon
