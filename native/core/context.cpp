#include "context.h"

#include <chrono>

#include "error.h"
#include "log_router.h"
#include "whisper.h"

namespace talk2me {

std::shared_ptr<Context> Context::load(const std::string &path, const ModelOptions &options) {
  install_log_router();
  const auto started = std::chrono::steady_clock::now();
  const ModelHeader header = inspect_model_file(path);

  whisper_context_params params = whisper_context_default_params();
  params.use_gpu = options.use_gpu;
  params.gpu_device = options.gpu_device;
  params.flash_attn = options.flash_attn;
  whisper_context *ctx = guard("loading the model", [&] { return whisper_init_from_file_with_params_no_state(path.c_str(), params); });
  if (ctx == nullptr) {
    throw CoreError(code::kModelLoadFailed, "whisper.cpp could not load " + path + " (see the whisper log for the reason)");
  }

  ModelInfo info;
  info.path = path;
  info.multilingual = whisper_is_multilingual(ctx) != 0;
  info.type = whisper_model_type_readable(ctx);
  info.header = header;
  info.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return std::shared_ptr<Context>(new Context(ctx, std::move(info), options.max_states));
}

Context::Context(whisper_context *ctx, ModelInfo info, int max_states)
    : ctx_(ctx), info_(std::move(info)), pool_(std::make_unique<StatePool>(ctx, max_states)) {}

Context::~Context() {
  pool_.reset();
  whisper_free(ctx_);
}

}  // namespace talk2me
