#pragma once
// The JavaScript callbacks of one transcription ({ onSegment, onProgress }) as the core's
// TranscribeHooks. whisper.cpp calls them on the transcription's own thread; thread-safe functions
// carry each call to the JavaScript thread. A segment waits until JavaScript has seen it, so
// segments arrive in order and before the transcription's Promise settles; progress does not wait.
#include <napi.h>

#include <atomic>
#include <future>
#include <memory>

#include "types.h"

namespace talk2me::addon {

class TranscribeHookBridge {
 public:
  // On the JavaScript thread. `value`: undefined or an object with optional functions.
  static std::shared_ptr<TranscribeHookBridge> From(Napi::Env env, const Napi::Value &value);
  ~TranscribeHookBridge();

  // For the transcribing thread: hooks that never throw.
  TranscribeHooks hooks();
  // Lets the thread-safe functions go (any thread; once is enough, more is harmless), so they no
  // longer keep the event loop alive.
  void Release();

 private:
  struct SegmentDelivery {
    Segment segment;
    std::promise<void> delivered;
  };
  static void CallSegment(Napi::Env env, Napi::Function fn, std::nullptr_t *, SegmentDelivery *delivery);
  static void CallProgress(Napi::Env env, Napi::Function fn, std::nullptr_t *, int *percent);
  using SegmentFn = Napi::TypedThreadSafeFunction<std::nullptr_t, SegmentDelivery, &TranscribeHookBridge::CallSegment>;
  using ProgressFn = Napi::TypedThreadSafeFunction<std::nullptr_t, int, &TranscribeHookBridge::CallProgress>;

  void DeliverSegment(const Segment &segment) noexcept;
  void DeliverProgress(int percent) noexcept;

  SegmentFn segment_;
  ProgressFn progress_;
  bool has_segment_ = false;
  bool has_progress_ = false;
  std::atomic<bool> released_{false};
};

}  // namespace talk2me::addon
