#pragma once
// A 16 kHz mono test signal that is not silence: tones whose loudness rises and falls like
// syllables, so whisper.cpp's encoder and decoder do their full work on it (test/helpers/signals.ts).
#include <vector>

namespace talk2me::check {

std::vector<float> syllable_tones(double seconds);

}  // namespace talk2me::check
