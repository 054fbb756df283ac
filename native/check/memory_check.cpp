#include "memory_check.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "error.h"
#include "ggml-backend.h"
#include "gpu_probe.h"
#include "log_router.h"
#include "meter.h"
#include "tone_signal.h"
#include "whisper.h"

namespace talk2me::check {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

const char *device_type_name(enum ggml_backend_dev_type type) {
  switch (type) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "CPU";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "GPU";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "integrated GPU";
    case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accelerator";
    default: return "other";
  }
}

void print_build() {
  std::printf("talk2me-check: whisper.cpp %s; ggml-cuda compiled in: %s; CUDA runtime probe: %s\n", whisper_version(),
              gpu_backend_compiled() ? "yes" : "no", gpu_probe_compiled() ? "yes" : "no");
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    std::printf("ggml device %zu: %s, %s (%s)\n", i, ggml_backend_dev_name(dev), ggml_backend_dev_description(dev),
                device_type_name(ggml_backend_dev_type(dev)));
  }
}

// Whether the model will hold device memory that can be measured; if not, why not.
bool gpu_in_play(const CheckOptions &o, std::string &why_not) {
  if (!o.use_gpu) {
    why_not = "--cpu";
  } else if (!gpu_backend_compiled()) {
    why_not = "this build has no ggml-cuda (configure with -DTALK2ME_CUDA=ON)";
  } else if (!probe_gpu(o.gpu_device)) {
    why_not = gpu_probe_compiled() ? "the CUDA runtime sees no device " + std::to_string(o.gpu_device) : "no CUDA runtime to ask";
  } else {
    return true;
  }
  return false;
}

class MemoryCheck {
 public:
  explicit MemoryCheck(const CheckOptions &o, bool gpu) : o_(o), gpu_(gpu), meter_(gpu ? o.gpu_device : -1), clip_(syllable_tones(o.seconds)) {}

  int run() {
    meter_.print_header();
    const Snapshot start = meter_.take("start");
    meter_.print_row(start, std::nullopt, gpu_ ? "the CUDA context exists (the probe made it)" : "");

    ModelOptions mo;
    mo.threads = o_.threads;
    mo.use_gpu = o_.use_gpu;
    mo.gpu_device = o_.gpu_device;
    mo.max_states = o_.concurrency;
    const auto t = Clock::now();
    engine_ = Engine::load(o_.path, mo);
    const MemoryReport loaded = engine_->memory();
    const Snapshot load = meter_.take("load");
    std::string note = format("%.0f ms; weights %.1f MiB", ms_since(t), to_mib(loaded.weights_bytes));
    if (gpu_) {
      const double on_device = delta_mib(load.gpu_used(), start.gpu_used());
      note += format(", device +%.1f MiB", on_device);
      if (on_device < 0.5 * to_mib(loaded.weights_bytes)) {
        fail(format("load: only %.1f MiB went to the device for %.1f MiB of weights: the model is not on the GPU", on_device,
                    to_mib(loaded.weights_bytes)));
      }
    }
    if (o_.baseline_after_load) {
      baseline_ = load;
      note += " [BASELINE]";
    }
    meter_.print_row(load, baseline_, note);

    transcribe_many(o_.concurrency, "warm-up: one per state");
    const Snapshot warm = trim_step(o_.baseline_after_load ? "warm-up trim" : "warm-up trim = BASELINE", true);
    if (gpu_) {
      std::printf("%-38s warm-up trim vs load: device %+.1f MiB (kernels the CUDA runtime, ggml-cuda and cuBLAS load\n"
                  "%-38s on first use stay for the process's life), RSS %+.1f MiB\n",
                  "", delta_mib(warm.gpu_used(), load.gpu_used()), "", delta_mib(warm.rss, load.rss));
    } else {
      std::printf("%-38s warm-up trim vs load: RSS %+.1f MiB\n", "", delta_mib(warm.rss, load.rss));
    }

    for (int c = 1; c <= o_.cycles; ++c) {
      const std::string cycle = "cycle " + std::to_string(c) + ": ";
      transcribe_many(o_.runs, cycle + std::to_string(o_.runs) + " transcriptions");
      trim_step(cycle + "trim", false);
      transcribe_many(o_.runs, cycle + std::to_string(o_.runs) + " transcriptions");
      recreate_step(cycle + "recreate (states left idle)");
    }

    engine_->dispose();
    engine_.reset();
    meter_.print_row(meter_.take("dispose"), baseline_, "model freed (not checked: the runtime's own memory stays)");
    return verdict();
  }

 private:
  void transcribe_many(int n, const std::string &label) {
    TranscribeOptions to;
    to.language = "en";
    to.threads = o_.threads;
    to.temperature_increment = 0.0f;  // no fallback re-decoding: every run does the same work
    std::atomic<int> next{0}, segments{0};
    std::mutex mutex;
    std::condition_variable go;
    int ready = 0;
    std::vector<std::string> errors;
    const int workers = std::min(n, o_.concurrency);
    const auto t = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        {
          // Start together, so `concurrency` transcriptions overlap and that many states exist.
          std::unique_lock<std::mutex> lock(mutex);
          if (++ready == workers) go.notify_all();
          go.wait(lock, [&] { return ready == workers; });
        }
        while (next.fetch_add(1) < n) {
          try {
            const TranscribeResult r = engine_->transcribe(clip_, to, std::make_shared<std::atomic<bool>>(false));
            segments += static_cast<int>(r.segments.size());
          } catch (const std::exception &e) {
            std::lock_guard<std::mutex> lock(mutex);
            errors.push_back(e.what());
          }
        }
      });
    }
    for (auto &thread : threads) thread.join();
    const MemoryReport m = engine_->memory();
    const Snapshot s = meter_.take(label);
    meter_.print_row(s, baseline_, format("%d in %.0f ms, %d segments; %d states, %.1f MB each", n, ms_since(t), segments.load(),
                                          m.states_total, static_cast<double>(m.bytes_per_state) / 1e6));
    for (const std::string &e : errors) fail(label + ": a transcription failed: " + e);
  }

  Snapshot trim_step(const std::string &label, bool warm_up) {
    const TrimReport r = engine_->trim();
    const Snapshot s = meter_.take(label);
    std::string note = format("freed %d states, %.1f MB by whisper's count", r.states_freed, static_cast<double>(r.state_bytes_freed) / 1e6);
    if (r.states_freed < 1) fail(label + ": freed no whisper state although transcriptions left idle ones");
    if (gpu_) {
      if (!r.gpu_free_before || !r.gpu_free_after) {
        fail(label + ": the TrimReport lacks gpu_free_before/gpu_free_after on a CUDA build");
      } else {
        const double gained = delta_mib(*r.gpu_free_after, *r.gpu_free_before);
        note += format("; device free %+.1f MiB", gained);
        // The states' kv caches and compute buffers live on the device: most of them must come back.
        if (gained < 0.5 * static_cast<double>(r.state_bytes_freed) / (1024.0 * 1024.0)) {
          fail(format("%s: device memory freed (%.1f MiB) is less than half of the freed states' buffers (%.1f MB)", label.c_str(), gained,
                      static_cast<double>(r.state_bytes_freed) / 1e6));
        }
      }
    } else if (r.gpu_free_before || r.gpu_free_after) {
      fail(label + ": the TrimReport carries GPU figures although the model holds no device memory");
    }
    if (warm_up && !o_.baseline_after_load) {
      baseline_ = s;
      meter_.print_row(s, baseline_, note);
    } else {
      compare_with_baseline(s, note);
    }
    return s;
  }

  void recreate_step(const std::string &label) {
    const RecreateReport r = engine_->recreate(std::nullopt);
    const Snapshot s = meter_.take(label);
    if (r.previous_draining) fail(label + ": the old context is still referenced although no work was in flight");
    compare_with_baseline(s, format("reload %.0f ms", r.load_ms));
  }

  void compare_with_baseline(const Snapshot &s, const std::string &note) {
    meter_.print_row(s, baseline_, note);
    if (gpu_ && s.gpu && baseline_->gpu) {
      const double over = delta_mib(s.gpu_used(), baseline_->gpu_used());
      max_gpu_over_ = std::max(max_gpu_over_, over);
      if (over > o_.gpu_tolerance_mb) {
        fail(format("%s: device memory in use is %.1f MiB above the baseline (limit %.0f MiB)", s.step.c_str(), over, o_.gpu_tolerance_mb));
      }
    } else if (gpu_) {
      fail(s.step + ": the CUDA runtime did not answer");
    }
    const double rss_over = delta_mib(s.rss, baseline_->rss);
    max_rss_over_ = std::max(max_rss_over_, rss_over);
    if (rss_over > o_.rss_tolerance_mb) {
      fail(format("%s: RSS is %.1f MiB above the baseline (limit %.0f MiB)", s.step.c_str(), rss_over, o_.rss_tolerance_mb));
    }
  }

  void fail(const std::string &why) {
    std::printf("  FAIL %s\n", why.c_str());
    std::fflush(stdout);
    failures_.push_back(why);
  }

  int verdict() const {
    std::printf("\n");
    if (!failures_.empty()) {
      std::printf("talk2me-check: FAIL (%zu)\n", failures_.size());
      for (const std::string &f : failures_) std::printf("  - %s\n", f.c_str());
      return 1;
    }
    if (gpu_) {
      std::printf("talk2me-check: PASS: after every trim and recreate, device memory in use stayed within %.0f MiB of the baseline "
                  "(most above: %+.1f MiB) and RSS within %.0f MiB (most above: %+.1f MiB)\n",
                  o_.gpu_tolerance_mb, max_gpu_over_, o_.rss_tolerance_mb, max_rss_over_);
    } else {
      std::printf("talk2me-check: PASS (CPU only, device checks skipped): after every trim and recreate, RSS stayed within %.0f MiB "
                  "of the baseline (most above: %+.1f MiB)\n",
                  o_.rss_tolerance_mb, max_rss_over_);
    }
    return 0;
  }

  const CheckOptions &o_;
  const bool gpu_;
  const Meter meter_;
  const std::vector<float> clip_;
  std::shared_ptr<Engine> engine_;
  std::optional<Snapshot> baseline_;
  std::vector<std::string> failures_;
  double max_gpu_over_ = -1e9, max_rss_over_ = -1e9;
};

}  // namespace

int run_memory_check(const CheckOptions &o) {
  if (o.verbose) {
    install_log_router();
    set_log_sink([](LogLevel, const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); }, LogLevel::Info);
  }
  print_build();
  std::string why_not;
  const bool gpu = gpu_in_play(o, why_not);
  std::printf("model: %s; %d threads per transcription, %d at once, %d per step, %d cycles, %.1f s clip of tones\n", o.path.c_str(),
              o.threads, o.concurrency, o.runs, o.cycles, o.seconds);
  if (gpu) {
    const std::optional<GpuMemory> g = probe_gpu(o.gpu_device);
    std::printf("mode: GPU %d, %s, %.0f MiB\n", o.gpu_device, g->name.c_str(), to_mib(g->total_bytes));
  } else {
    std::printf("mode: CPU only (%s): the device checks are skipped\n", why_not.c_str());
    if (o.require_gpu) {
      std::printf("\ntalk2me-check: FAIL: --require-gpu, but %s\n", why_not.c_str());
      return 1;
    }
  }
  if (o.baseline_after_load) {
    std::printf("baseline (--baseline load): %s right after the first load, before any transcription.\n",
                gpu ? "device memory in use and RSS" : "RSS");
  } else {
    std::printf(
        "baseline: %s after the first load, one warm-up transcription per state (%d) and a trim: the weights plus what\n"
        "  the process keeps for its life once it has transcribed (on a GPU: the CUDA context and the kernels that the CUDA\n"
        "  runtime, ggml-cuda and cuBLAS load on first use). The post-load figures and the difference are printed too;\n"
        "  --baseline load compares with the post-load figures instead.\n",
        gpu ? "device memory in use and RSS" : "RSS", o.concurrency);
  }
  std::printf(
      "pass: after every later trim and recreate, device memory in use (cudaMemGetInfo total - free, whole device, read\n"
      "  after cudaDeviceSynchronize) is within %.0f MiB of the baseline and RSS within %.0f MiB; every trim frees whisper\n"
      "  states and, on a GPU, gives back at least half of their buffers; load puts the weights on the GPU.\n\n",
      o.gpu_tolerance_mb, o.rss_tolerance_mb);
  std::fflush(stdout);
  MemoryCheck check(o, gpu);
  return check.run();
}

}  // namespace talk2me::check
