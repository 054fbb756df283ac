#include "context.h"

#include <atomic>
#include <chrono>

#include "error.h"
#include "fault.h"
#include "log_router.h"
#include "whisper.h"

namespace talk2me {
namespace {

std::atomic<int64_t> g_live_contexts{0};

}  // namespace

std::shared_ptr<Context> Context::load(const std::string &path, const ModelOptions &options) {
  install_log_router();
  const auto started = std::chrono::steady_clock::now();
  const ModelHeader header = fault_skips("model_file.check") ? ModelHeader{} : inspect_model_file(path);

  whisper_context_params params = whisper_context_default_params();
  params.use_gpu = options.use_gpu;
  params.gpu_device = options.gpu_device;
  params.flash_attn = options.flash_attn;
  // Owned from the first moment: whatever throws below (building the info, the pool, the Context)
  // frees it again.
  OwnedWhisperContext ctx(guard("loading the model", [&] { return whisper_init_from_file_with_params_no_state(path.c_str(), params); }));
  if (ctx == nullptr) {
    throw CoreError(code::kModelLoadFailed, "whisper.cpp could not load the model file (its reason is in the server log)");
  }

  g_live_contexts.fetch_add(1);
  fault_point("context.load");

  ModelInfo info;
  info.path = path;
  info.multilingual = whisper_is_multilingual(ctx.get()) != 0;
  info.type = whisper_model_type_readable(ctx.get());
  info.header = header;
  info.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return std::shared_ptr<Context>(new Context(std::move(ctx), std::move(info), options.max_states));
}

void Context::FreeWhisperContext::operator()(whisper_context *ctx) const {
  whisper_free(ctx);
  g_live_contexts.fetch_sub(1);
}

int64_t Context::live_count() { return g_live_contexts.load(); }

Context::Context(OwnedWhisperContext ctx, ModelInfo info, int max_states)
    : ctx_(std::move(ctx)), info_(std::move(info)), pool_(std::make_unique<StatePool>(ctx_.get(), max_states)) {}

Context::~Context() { pool_.reset(); }

}  // namespace talk2me
