#pragma once
// whisper work on a thread of its own, not on libuv's pool. A transcription holds its thread for
// seconds; on the pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), MAX_CONCURRENCY of them
// would leave file system work, DNS and the addon's own quick calls waiting behind whisper. So each
// long call (load, transcribe, trim, recreate, dispose) starts one thread, which runs the work and
// hands the outcome back to the JavaScript thread through a thread-safe function; JavaScript bounds
// how many run at once (Slots, the admission queue).
//
// The contract is PromiseWorker's: the Promise settles on the JavaScript thread, the owner object is
// referenced until then, every exception is caught (the work's on its thread, the conversion's on
// the JavaScript thread) and becomes a rejection with a code.
#include <napi.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "boundary.h"
#include "error.h"
#include "promise_worker.h"

namespace talk2me::addon {

template <typename T>
class ThreadJob {
 public:
  using Work = std::function<T()>;
  using ToJs = std::function<Napi::Value(Napi::Env, T &)>;
  using Settled = std::function<void()>;

  // Starts the work on a new thread and returns the Promise it settles.
  static Napi::Promise Start(Napi::Env env, const char *name, Napi::Object owner, Work work, ToJs to_js, Settled settled = nullptr) {
    auto job = std::unique_ptr<ThreadJob>(new ThreadJob(env, owner, std::move(work), std::move(to_js), std::move(settled)));
    Napi::Promise promise = job->deferred_.Promise();
    // Referenced (the default): like a queued AsyncWorker, running work keeps the process alive.
    job->tsfn_ = Delivery::New(env, name, 0, 1);
    ThreadJob *raw = job.get();
    try {
      std::thread([raw] { raw->Run(); }).detach();
    } catch (...) {
      // No thread (the system's limit): the job ends here, on the JavaScript thread.
      raw->tsfn_.Release();
      if (raw->settled_) raw->settled_();
      reject_current(env, raw->deferred_);
      return promise;
    }
    job.release();  // owned by its thread until delivered, then by Deliver()
    return promise;
  }

 private:
  static void Deliver(Napi::Env env, Napi::Function, std::nullptr_t *, ThreadJob *job) {
    std::unique_ptr<ThreadJob> owned(job);
    if (env == nullptr) {
      // The environment is going away: nothing to settle, and its references are gone with it.
      owned->owner_.SuppressDestruct();
      return;
    }
    Napi::HandleScope scope(env);
    try {
      if (owned->settled_) owned->settled_();
      if (owned->failed_) {
        owned->deferred_.Reject(make_error(env, owned->code_, owned->message_.empty() ? "Out of memory" : owned->message_).Value());
      } else {
        owned->deferred_.Resolve(owned->to_js_(env, *owned->result_));
      }
    } catch (...) {
      reject_current(env, owned->deferred_);
    }
  }

  using Delivery = Napi::TypedThreadSafeFunction<std::nullptr_t, ThreadJob, &ThreadJob::Deliver>;

  ThreadJob(Napi::Env env, Napi::Object owner, Work work, ToJs to_js, Settled settled)
      : deferred_(Napi::Promise::Deferred::New(env)),
        owner_(Napi::Persistent(owner)),
        work_(std::move(work)),
        to_js_(std::move(to_js)),
        settled_(std::move(settled)) {}

  // On the job's own thread.
  void Run() {
    try {
      result_.emplace(work_());
    } catch (...) {
      failed_ = true;
      describe_current_exception(code_, message_);
      if (code_.empty()) code_ = code::kOutOfMemory;
    }
    Delivery tsfn = tsfn_;
    // Only napi_closing (the environment shutting down) makes the call fail; the job is then left
    // to the process's end, since its JavaScript references may only be touched on that thread.
    tsfn.BlockingCall(this);
    tsfn.Release();
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the model object alive while its work runs
  Work work_;
  ToJs to_js_;
  Settled settled_;
  Delivery tsfn_;
  std::optional<T> result_;
  bool failed_ = false;
  std::string code_;
  std::string message_;
};

}  // namespace talk2me::addon
