#pragma once
// Writes a synthetic Whisper model in whisper.cpp's legacy ggml format without Node, so a GPU
// machine with no npm can still make one. Same layout as src/model/synthetic.ts: real dimensions,
// deterministic pseudo-random f16 weights, a vocabulary holding the tokens whisper.cpp looks up by
// text (" ", " -", " '"). The file passes native/core's model check and loads like a trained model
// of its size; it knows no speech. (Its bytes differ from the TypeScript writer's: other weights
// and made-up words.)
#include <cstdint>
#include <string>

namespace talk2me::check {

struct SyntheticDims {
  int32_t n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
  int32_t n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype;
};

// tiny.en's dimensions (77.7 MB file) and `mini` (width 64, one layer, ~8 MB), as in src/model/dims.ts.
SyntheticDims tiny_dims();
SyntheticDims mini_dims();

// Writes the model to `path` through a temporary file in the same directory and a rename, so a
// failure leaves `path` untouched. Returns the bytes written; throws std::runtime_error.
uint64_t write_synthetic_model(const std::string &path, const SyntheticDims &dims, uint32_t seed);

}  // namespace talk2me::check
