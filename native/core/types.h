#pragma once
// Plain data crossing the core's boundary.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gpu_probe.h"
#include "model_file.h"

namespace talk2me {

struct ModelOptions {
  int threads = 4;          // default threads per transcription
  bool use_gpu = true;      // ignored by a CPU build
  int gpu_device = 0;
  bool flash_attn = true;   // whisper.cpp's default: a smaller encode buffer and faster
  int max_states = 1;       // concurrent transcriptions on one set of weights
};

struct TranscribeOptions {
  std::string language = "auto";  // "auto" or "" detects (multilingual models only)
  bool translate = false;
  std::string initial_prompt;
  float temperature = 0.0f;
  float temperature_increment = 0.2f;  // fallback when decoding fails its thresholds; 0 disables
  int beam_size = 1;                   // > 1 selects beam search
  int best_of = 1;
  int threads = 0;                     // 0: the model's default
  bool timestamps = true;              // segment timestamps
  bool word_timestamps = false;        // per-word times from whisper.cpp's token timestamps
};

struct Word {
  std::string text;  // without the leading space that starts a word
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct Segment {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string text;
  float no_speech_prob = 0.0f;
  std::vector<int32_t> tokens;         // text tokens only: no timestamps nor other special tokens
  std::optional<float> avg_logprob;    // mean log probability of `tokens`; none without tokens
  std::vector<Word> words;             // filled only when word_timestamps was asked
};

// Called on the transcribing thread while whisper.cpp decodes; either may be empty. They must not
// throw: whisper.cpp's C callbacks cannot carry an exception back out.
struct TranscribeHooks {
  std::function<void(const Segment &)> on_segment;  // each segment as soon as it is decoded
  std::function<void(int)> on_progress;             // percent of the audio done, ending at 100
};

struct Timings {
  double mel_ms = 0;     // start until the first encoder pass (spectrogram, language detection)
  double encode_ms = 0;  // encoder passes, each up to the first logits of its window
  double decode_ms = 0;  // the rest: token-by-token decoding
  double total_ms = 0;
};

struct TranscribeResult {
  std::vector<Segment> segments;
  std::string language;
  double duration_ms = 0;
  Timings timings;
};

struct TrimReport {
  int states_freed = 0;
  uint64_t state_bytes_freed = 0;  // whisper.cpp's own accounting of the freed states' buffers
  uint64_t rss_before = 0;
  uint64_t rss_after = 0;
  bool heap_trimmed = false;       // malloc_trim ran
  // Free device memory (cudaMemGetInfo) around the trim, each read after cudaDeviceSynchronize.
  // Set only on a CUDA build (TALK2ME_CUDA) whose model uses a GPU that the runtime can see.
  std::optional<uint64_t> gpu_free_before;
  std::optional<uint64_t> gpu_free_after;
};

struct RecreateReport {
  std::string previous_path;
  std::string path;
  double load_ms = 0;
  bool previous_draining = false;  // the old context still serves in-flight work
};

struct MemoryReport {
  std::string path;
  uint64_t weights_bytes = 0;
  uint64_t bytes_per_state = 0;
  int states_total = 0;
  int states_idle = 0;
  int states_busy = 0;
  int states_max = 0;
  int draining_contexts = 0;  // replaced contexts still finishing in-flight work
  uint64_t rss_bytes = 0;
  std::optional<GpuMemory> gpu;
};

struct ModelInfo {
  std::string path;
  bool multilingual = false;
  std::string type;  // tiny, base, ... as whisper.cpp names it
  ModelHeader header;  // what the file check read: dimensions, ftype, sizes
  double load_ms = 0;
};

}  // namespace talk2me
