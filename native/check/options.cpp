#include "options.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace talk2me::check {
namespace {

int to_int(const std::string &flag, const std::string &text, int lo, int hi) {
  char *end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi) {
    throw std::invalid_argument("Expected an integer between " + std::to_string(lo) + " and " + std::to_string(hi) + " for " + flag +
                                " but received '" + text + "'");
  }
  return static_cast<int>(v);
}

double to_double(const std::string &flag, const std::string &text, double lo, double hi) {
  char *end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
    throw std::invalid_argument("Expected a number between " + std::to_string(lo) + " and " + std::to_string(hi) + " for " + flag +
                                " but received '" + text + "'");
  }
  return v;
}

}  // namespace

const char *usage() {
  return "usage: talk2me-check MODEL [options]\n"
         "       talk2me-check --write-synthetic-model PATH [--dims tiny|mini] [--seed N]\n"
         "\n"
         "Loads MODEL through native/core, transcribes a synthetic clip of tones, trims, recreates, and\n"
         "prints GPU memory (cudaMemGetInfo) and RSS after each step. Exits 1 when device memory in use\n"
         "after a trim or a recreate exceeds the baseline by more than --gpu-tolerance-mb (RSS:\n"
         "--rss-tolerance-mb), 2 on bad arguments or errors, 0 when every check passes.\n"
         "\n"
         "  --runs N                transcriptions per step (default 3)\n"
         "  --cycles N              trim and recreate cycles after the baseline (default 2)\n"
         "  --concurrency N         transcriptions at once, so N whisper states (default 2)\n"
         "  --threads N             threads per transcription (default: cores / concurrency, at most 8)\n"
         "  --seconds S             length of the test clip (default 3)\n"
         "  --cpu                   load with use_gpu off\n"
         "  --gpu-device N          the GPU to use (default 0)\n"
         "  --require-gpu           fail unless the model runs on a GPU\n"
         "  --baseline warm-up|load the baseline: after load, warm-up and trim (default), or right after load\n"
         "  --gpu-tolerance-mb MB   allowed device memory above the baseline (default 32)\n"
         "  --rss-tolerance-mb MB   allowed RSS above the baseline (default 64)\n"
         "  --verbose               whisper.cpp's log on stderr\n"
         "  --write-synthetic-model PATH   write a synthetic model (tiny.en dimensions by default) and exit\n";
}

CheckOptions parse_options(int argc, char **argv) {
  CheckOptions o;
  bool have_path = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      o.mode = CheckOptions::Mode::Help;
      return o;
    } else if (arg == "--write-synthetic-model") {
      o.mode = CheckOptions::Mode::WriteModel;
      o.path = value();
      have_path = true;
    } else if (arg == "--dims") {
      o.dims = value();
      if (o.dims != "tiny" && o.dims != "mini") throw std::invalid_argument("Expected tiny or mini for --dims but received '" + o.dims + "'");
    } else if (arg == "--seed") {
      o.seed = static_cast<uint32_t>(to_int(arg, value(), 0, 0x7fffffff));
    } else if (arg == "--runs") {
      o.runs = to_int(arg, value(), 1, 1000);
    } else if (arg == "--cycles") {
      o.cycles = to_int(arg, value(), 1, 100);
    } else if (arg == "--concurrency") {
      o.concurrency = to_int(arg, value(), 1, 16);
    } else if (arg == "--threads") {
      o.threads = to_int(arg, value(), 1, 256);
    } else if (arg == "--seconds") {
      o.seconds = to_double(arg, value(), 0.1, 600);
    } else if (arg == "--cpu") {
      o.use_gpu = false;
    } else if (arg == "--gpu-device") {
      o.gpu_device = to_int(arg, value(), 0, 64);
    } else if (arg == "--require-gpu") {
      o.require_gpu = true;
    } else if (arg == "--baseline") {
      const std::string which = value();
      if (which != "load" && which != "warm-up") throw std::invalid_argument("Expected load or warm-up for --baseline but received '" + which + "'");
      o.baseline_after_load = which == "load";
    } else if (arg == "--gpu-tolerance-mb") {
      o.gpu_tolerance_mb = to_double(arg, value(), 0, 1e6);
    } else if (arg == "--rss-tolerance-mb") {
      o.rss_tolerance_mb = to_double(arg, value(), 0, 1e6);
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (!arg.empty() && arg[0] == '-') {
      throw std::invalid_argument("Unknown option " + arg);
    } else if (!have_path) {
      o.path = arg;
      have_path = true;
    } else {
      throw std::invalid_argument("Unexpected argument '" + arg + "'");
    }
  }
  if (!have_path) throw std::invalid_argument("Expected a model path");
  if (o.require_gpu && !o.use_gpu) throw std::invalid_argument("--require-gpu and --cpu contradict each other");
  if (o.threads == 0) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    o.threads = std::max(1, std::min(8, (cores > 0 ? cores : 4) / o.concurrency));
  }
  return o;
}

}  // namespace talk2me::check
