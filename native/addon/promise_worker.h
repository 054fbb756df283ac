#pragma once
// The addon's quick blocking calls (memory()) are one of these; whisper work is a ThreadJob
// (thread_job.h), which keeps the same contract on threads of its own. The work runs on libuv's thread pool, the
// Promise settles on the JavaScript thread, and the JS object that started it is kept alive (Ref)
// until then. A CoreError becomes a rejection whose Error carries the core's code; no C++
// exception ever reaches Node (see boundary.h).
#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "boundary.h"
#include "error.h"

namespace talk2me::addon {

// Builds the JavaScript Error a failed call rejects with: message and `code`.
Napi::Error make_error(Napi::Env env, const std::string &code, const std::string &message);

// Called inside a catch block on the JavaScript thread: rejects `deferred` with the exception in
// flight (its code and message). Never throws.
void reject_current(Napi::Env env, Napi::Promise::Deferred &deferred) noexcept;

template <typename T>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<T()>;
  using ToJs = std::function<Napi::Value(Napi::Env, T &)>;
  using Settled = std::function<void()>;

  // Queues the work and returns the Promise it settles.
  static Napi::Promise Start(Napi::Env env, const char *name, Napi::Object owner, Work work, ToJs to_js, Settled settled = nullptr) {
    auto *worker = new PromiseWorker(env, name, owner, std::move(work), std::move(to_js), std::move(settled));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (...) {
      std::string message;
      describe_current_exception(code_, message);
      if (code_.empty()) code_ = code::kOutOfMemory;
      try {
        SetError(message.empty() ? "Out of memory" : message);
      } catch (...) {
        SetError("Out of memory");  // short enough to need no allocation
      }
    }
  }

  // Both run on the JavaScript thread, outside any wrapper of node-addon-api: an exception thrown
  // here (to_js running out of memory, say) would abort Node, so every one is caught and becomes the
  // rejection.
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Settle(env, [&] { deferred_.Resolve(to_js_(env, *result_)); });
  }

  void OnError(const Napi::Error &error) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Settle(env, [&] { deferred_.Reject(make_error(env, code_, error.Message()).Value()); });
  }

 private:
  template <typename Fn>
  void Settle(Napi::Env env, Fn &&settle) {
    try {
      if (settled_) settled_();
      settle();
    } catch (...) {
      reject_current(env, deferred_);
    }
  }

  PromiseWorker(Napi::Env env, const char *name, Napi::Object owner, Work work, ToJs to_js, Settled settled)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(Napi::Persistent(owner)),
        work_(std::move(work)),
        to_js_(std::move(to_js)),
        settled_(std::move(settled)) {}

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the model object alive while its work runs
  Work work_;
  ToJs to_js_;
  Settled settled_;
  std::optional<T> result_;
  std::string code_ = code::kInternal;
};

// A Promise already rejected with `code` (calls after dispose, bad arguments found late).
Napi::Promise rejected(Napi::Env env, const std::string &code, const std::string &message);

}  // namespace talk2me::addon
