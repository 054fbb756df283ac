#pragma once
// One loaded set of weights (a whisper_context) and the pool of states that run on it.
#include <cstdint>
#include <memory>
#include <string>

#include "model_file.h"
#include "state_pool.h"
#include "types.h"

namespace talk2me {

class Context {
 public:
  // Checks the file, then loads it. Throws CoreError (MODEL_* codes).
  static std::shared_ptr<Context> load(const std::string &path, const ModelOptions &options);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  whisper_context *raw() const { return ctx_.get(); }
  StatePool &pool() { return *pool_; }
  const ModelHeader &header() const { return info_.header; }
  const ModelInfo &info() const { return info_; }
  // whisper_contexts alive in this process (loaded and not yet freed); tests read it to prove that
  // nothing leaks.
  static int64_t live_count();

 private:
  struct FreeWhisperContext {
    void operator()(whisper_context *ctx) const;
  };
  using OwnedWhisperContext = std::unique_ptr<whisper_context, FreeWhisperContext>;

  Context(OwnedWhisperContext ctx, ModelInfo info, int max_states);

  // Declared first so it is destroyed last: the pool's states point into it.
  OwnedWhisperContext ctx_;
  ModelInfo info_;
  std::unique_ptr<StatePool> pool_;
};

}  // namespace talk2me
