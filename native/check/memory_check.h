#pragma once
// The memory check itself: load, warm up, take the baseline, then cycles of transcriptions, trim
// and recreate, each step measured and compared with the baseline.
#include "options.h"

namespace talk2me::check {

// Prints the steps and a verdict; returns 0 when every check passed, 1 otherwise. Errors from the
// core (a model that does not load, a transcription that fails) are thrown as CoreError.
int run_memory_check(const CheckOptions &options);

}  // namespace talk2me::check
