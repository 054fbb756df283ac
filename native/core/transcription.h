#pragma once
// One transcription on a state the caller holds.
#include <atomic>
#include <vector>

#include "context.h"
#include "types.h"

namespace talk2me {

// Throws INVALID_ARGUMENT for options whisper.cpp would mishandle (it exit()s or asserts on some),
// so call it before taking a state.
void validate_transcribe_options(const Context &context, const TranscribeOptions &options, size_t n_samples);

// pcm: float32 samples at 16 kHz, mono. Throws ABORTED when `cancelled` turns true mid-way and
// TRANSCRIPTION_FAILED when whisper.cpp reports an error. `hooks` hear of segments and progress
// as they happen.
TranscribeResult run_transcription(Context &context, whisper_state *state, const std::vector<float> &pcm,
                                   const TranscribeOptions &options, int default_threads, const std::atomic<bool> &cancelled,
                                   const TranscribeHooks &hooks = {});

}  // namespace talk2me
