#include "tone_signal.h"

#include <cmath>

namespace talk2me::check {

std::vector<float> syllable_tones(double seconds) {
  constexpr double kSampleRate = 16000.0;
  constexpr double kTwoPi = 6.283185307179586;
  std::vector<float> pcm(static_cast<size_t>(std::lround(seconds * kSampleRate)));
  for (size_t i = 0; i < pcm.size(); ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    const double envelope = 0.5 + 0.5 * std::sin(kTwoPi * 3.0 * t);
    pcm[i] = static_cast<float>(0.25 * envelope * (std::sin(kTwoPi * 220.0 * t) + 0.5 * std::sin(kTwoPi * 660.0 * t)));
  }
  return pcm;
}

}  // namespace talk2me::check
