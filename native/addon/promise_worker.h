#pragma once
// Every blocking call of the addon is one of these: the work runs on libuv's thread pool, the
// Promise settles on the JavaScript thread, and the JS object that started it is kept alive (Ref)
// until then. A CoreError becomes a rejection whose Error carries the core's code; no C++
// exception ever reaches Node.
#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "error.h"

namespace talk2me::addon {

// Builds the JavaScript Error a failed call rejects with: message and `code`.
Napi::Error make_error(Napi::Env env, const std::string &code, const std::string &message);

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
    } catch (const CoreError &e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc &) {
      code_ = code::kOutOfMemory;
      SetError("Out of memory");
    } catch (const std::exception &e) {
      code_ = code::kInternal;
      SetError(e.what());
    } catch (...) {
      code_ = code::kInternal;
      SetError("Unknown native error");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (settled_) settled_();
    try {
      deferred_.Resolve(to_js_(env, *result_));
    } catch (const Napi::Error &e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error &error) override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (settled_) settled_();
    deferred_.Reject(make_error(env, code_, error.Message()).Value());
  }

 private:
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
