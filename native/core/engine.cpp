#include "engine.h"

#include <algorithm>
#include <chrono>

#include "error.h"
#include "gpu_probe.h"
#include "memory_probe.h"
#include "transcription.h"

namespace talk2me {
namespace {

constexpr int kMaxStates = 64;

// Free device memory once the device has finished its queued work; nothing where the model holds
// no device memory (CPU build, use_gpu off) or the runtime sees no such device.
std::optional<uint64_t> settled_gpu_free(const ModelOptions &o) {
  if (!o.use_gpu || !gpu_backend_compiled() || !synchronize_gpu(o.gpu_device)) return std::nullopt;
  const std::optional<GpuMemory> gpu = probe_gpu(o.gpu_device);
  if (!gpu) return std::nullopt;
  return gpu->free_bytes;
}

void validate_model_options(const ModelOptions &o) {
  if (o.threads < 1 || o.threads > 256) throw CoreError(code::kInvalidArgument, "Expected threads between 1 and 256");
  if (o.max_states < 1 || o.max_states > kMaxStates) {
    throw CoreError(code::kInvalidArgument, "Expected maxStates between 1 and " + std::to_string(kMaxStates));
  }
  if (o.gpu_device < 0) throw CoreError(code::kInvalidArgument, "Expected a GPU device index of 0 or more");
}

}  // namespace

std::shared_ptr<Engine> Engine::load(const std::string &path, const ModelOptions &options) {
  validate_model_options(options);
  auto context = Context::load(path, options);
  return std::shared_ptr<Engine>(new Engine(std::move(context), options));
}

Engine::Engine(std::shared_ptr<Context> context, ModelOptions options) : options_(options), current_(std::move(context)) {}

Engine::~Engine() { dispose(); }

std::shared_ptr<Context> Engine::current_or_throw() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (disposed_ || !current_) throw CoreError(code::kDisposed, "The model has been disposed");
  return current_;
}

TranscribeResult Engine::transcribe(const std::vector<float> &pcm, const TranscribeOptions &options,
                                    std::shared_ptr<std::atomic<bool>> cancelled, const TranscribeHooks &hooks) {
  std::shared_ptr<Context> context;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (disposed_ || !current_) throw CoreError(code::kDisposed, "The model has been disposed");
    context = current_;
    active_.insert(cancelled);
  }
  struct Unregister {
    Engine *engine;
    std::shared_ptr<std::atomic<bool>> flag;
    std::shared_ptr<Context> *context;
    ~Unregister() {
      context->reset();  // a replaced context is freed here, by its last transcription
      std::lock_guard<std::mutex> lock(engine->mutex_);
      engine->active_.erase(flag);
      engine->idle_.notify_all();
    }
  } unregister{this, cancelled, &context};

  validate_transcribe_options(*context, options, pcm.size());
  StateLease lease(context->pool(), context->pool().acquire([&] { return cancelled->load(); }));
  return run_transcription(*context, lease.get(), pcm, options, options_.threads, *cancelled, hooks);
}

TrimReport Engine::trim() {
  std::vector<std::shared_ptr<Context>> contexts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (disposed_) throw CoreError(code::kDisposed, "The model has been disposed");
    if (current_) contexts.push_back(current_);
    for (auto &weak : retired_) {
      if (auto alive = weak.lock()) contexts.push_back(std::move(alive));
    }
  }
  TrimReport report;
  report.rss_before = process_rss_bytes();
  report.gpu_free_before = settled_gpu_free(options_);
  // On a CUDA build each whisper_state owns its backends: freeing an idle state frees its kv caches
  // and compute buffers, and deleting its ggml-cuda backend frees that backend's memory pool, cuBLAS
  // handle and streams. Nothing of a freed state stays with ggml-cuda.
  for (auto &context : contexts) {
    const uint64_t per_state = context->pool().bytes_per_state();
    const int freed = context->pool().free_idle();
    report.states_freed += freed;
    report.state_bytes_freed += per_state * static_cast<uint64_t>(freed);
  }
  report.heap_trimmed = release_free_heap();
  report.rss_after = process_rss_bytes();
  report.gpu_free_after = settled_gpu_free(options_);
  return report;
}

RecreateReport Engine::recreate(const std::optional<std::string> &path) {
  std::lock_guard<std::mutex> serial(recreate_mutex_);
  std::shared_ptr<Context> old = current_or_throw();
  RecreateReport report;
  report.previous_path = old->info().path;
  report.path = path.value_or(report.previous_path);
  // Loaded without holding mutex_: transcriptions keep starting on the old context meanwhile.
  std::shared_ptr<Context> fresh = Context::load(report.path, options_);
  report.load_ms = fresh->info().load_ms;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (disposed_) throw CoreError(code::kDisposed, "The model was disposed during the reload");
    current_ = std::move(fresh);
    retired_.push_back(old);
    retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [](const auto &w) { return w.expired(); }), retired_.end());
  }
  // The old context's idle states can go now; busy ones return to it and go with it.
  old->pool().free_idle();
  report.previous_draining = old.use_count() > 1;
  // Unless work still runs on it, this is the last reference: whisper_free frees the old weights'
  // buffers here (device memory on a CUDA build), before recreate() returns.
  old.reset();
  return report;
}

int Engine::draining_contexts() {
  int n = 0;
  for (const auto &weak : retired_) n += weak.expired() ? 0 : 1;
  return n;
}

MemoryReport Engine::memory() {
  std::shared_ptr<Context> context = current_or_throw();
  MemoryReport m;
  m.path = context->info().path;
  m.weights_bytes = context->header().weights_bytes;
  m.bytes_per_state = context->pool().bytes_per_state();
  const PoolCounts counts = context->pool().counts();
  m.states_total = counts.total;
  m.states_idle = counts.idle;
  m.states_busy = counts.busy;
  m.states_max = counts.max;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    m.draining_contexts = draining_contexts();
  }
  m.rss_bytes = process_rss_bytes();
  if (options_.use_gpu) m.gpu = probe_gpu(options_.gpu_device);
  return m;
}

uint64_t Engine::native_bytes() {
  std::vector<std::shared_ptr<Context>> contexts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (disposed_) return 0;
    if (current_) contexts.push_back(current_);
    for (auto &weak : retired_) {
      if (auto alive = weak.lock()) contexts.push_back(std::move(alive));
    }
  }
  uint64_t bytes = 0;
  for (const auto &context : contexts) {
    bytes += context->header().weights_bytes + context->pool().bytes_per_state() * static_cast<uint64_t>(context->pool().counts().total);
  }
  return bytes;
}

ModelInfo Engine::info() { return current_or_throw()->info(); }

void Engine::dispose() {
  std::shared_ptr<Context> last;
  std::vector<std::shared_ptr<Context>> retired_alive;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (disposed_ && !current_) return;
    disposed_ = true;
    for (const auto &flag : active_) flag->store(true);
    if (current_) current_->pool().wake_all();
    for (auto &weak : retired_) {
      if (auto alive = weak.lock()) {
        alive->pool().wake_all();
        retired_alive.push_back(std::move(alive));
      }
    }
    retired_alive.clear();
    idle_.wait(lock, [this] { return active_.empty(); });
    last = std::move(current_);
    retired_.clear();
  }
  last.reset();  // frees the weights and the idle states, outside the lock
  release_free_heap();
}

bool Engine::disposed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return disposed_;
}

}  // namespace talk2me
