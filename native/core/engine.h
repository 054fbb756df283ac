#pragma once
// The model as the rest of talk2me sees it: one current context serving transcriptions, which can
// be trimmed, replaced while it serves (recreate), measured, and disposed.
//
// Every transcription holds a shared_ptr to the context it started on, so recreate() can swap in a
// new context at once while the old one lives exactly as long as its in-flight work.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "context.h"
#include "types.h"

namespace talk2me {

class Engine {
 public:
  static std::shared_ptr<Engine> load(const std::string &path, const ModelOptions &options);
  ~Engine();

  TranscribeResult transcribe(const std::vector<float> &pcm, const TranscribeOptions &options, std::shared_ptr<std::atomic<bool>> cancelled,
                              const TranscribeHooks &hooks = {});
  TrimReport trim();
  // Loads `path` (or the current model's path again), then swaps it in. On failure the current
  // context keeps serving and the error is thrown.
  RecreateReport recreate(const std::optional<std::string> &path);
  MemoryReport memory();
  ModelInfo info();
  // What the model holds in native memory now: the weights and the states of the current context
  // and of replaced ones still draining. 0 once disposed.
  uint64_t native_bytes();
  // Cancels in-flight work, waits for it to end and frees everything. Idempotent.
  void dispose();
  bool disposed();

 private:
  Engine(std::shared_ptr<Context> context, ModelOptions options);
  std::shared_ptr<Context> current_or_throw();
  int draining_contexts();

  const ModelOptions options_;
  std::mutex mutex_;  // guards current_, retired_, active_, disposed_
  std::condition_variable idle_;
  std::shared_ptr<Context> current_;
  std::vector<std::weak_ptr<Context>> retired_;  // replaced contexts, alive while their work runs
  std::set<std::shared_ptr<std::atomic<bool>>> active_;
  bool disposed_ = false;
  std::mutex recreate_mutex_;  // one reload at a time
};

}  // namespace talk2me
