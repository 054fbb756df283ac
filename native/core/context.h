#pragma once
// One loaded set of weights (a whisper_context) and the pool of states that run on it.
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

  whisper_context *raw() const { return ctx_; }
  StatePool &pool() { return *pool_; }
  const ModelHeader &header() const { return info_.header; }
  const ModelInfo &info() const { return info_; }

 private:
  Context(whisper_context *ctx, ModelInfo info, int max_states);

  whisper_context *ctx_;
  ModelInfo info_;
  std::unique_ptr<StatePool> pool_;  // freed before the context it points into
};

}  // namespace talk2me
