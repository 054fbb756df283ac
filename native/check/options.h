#pragma once
// talk2me-check's command line.
#include <cstdint>
#include <string>

namespace talk2me::check {

struct CheckOptions {
  enum class Mode { Check, WriteModel, Help };
  Mode mode = Mode::Check;
  std::string path;             // the model to check, or the file --write-synthetic-model writes
  std::string dims = "tiny";    // --dims for --write-synthetic-model: tiny or mini
  uint32_t seed = 0x5eed;
  int runs = 3;                 // transcriptions per step
  int cycles = 2;               // trim-then-recreate cycles after the baseline
  int concurrency = 2;          // transcriptions at once, so this many whisper states exist
  int threads = 0;              // per transcription; 0: the cores shared among `concurrency`, at most 8
  double seconds = 3.0;         // length of the test clip
  bool use_gpu = true;
  int gpu_device = 0;
  bool require_gpu = false;     // fail unless the model runs on a GPU (gpu-check.sh's CUDA mode)
  bool baseline_after_load = false;  // --baseline load: compare with the figures right after the first load
  double gpu_tolerance_mb = 32.0;
  double rss_tolerance_mb = 64.0;
  bool verbose = false;         // whisper.cpp's and ggml's log on stderr
};

// Throws std::invalid_argument naming the bad argument.
CheckOptions parse_options(int argc, char **argv);
const char *usage();

}  // namespace talk2me::check
