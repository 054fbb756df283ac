#pragma once
// Checks a whisper.cpp ggml model file before whisper.cpp reads it.
//
// whisper.cpp's loader trusts the header: n_mel x n_fft, n_vocab and the dimensions size
// allocations before any tensor is read, an unknown ftype or n_audio_head = 0 aborts the process
// (GGML_ASSERT, SIGFPE), and a file cut short inside the vocab loads as an "empty model" that
// transcribes garbage. So we walk the whole file first (headers only; tensor data is skipped) and
// refuse anything that is not a complete model whisper.cpp can load.
#include <cstdint>
#include <string>

namespace talk2me {

struct ModelHeader {
  int32_t n_vocab = 0;
  int32_t n_audio_ctx = 0;
  int32_t n_audio_state = 0;
  int32_t n_audio_head = 0;
  int32_t n_audio_layer = 0;
  int32_t n_text_ctx = 0;
  int32_t n_text_state = 0;
  int32_t n_text_head = 0;
  int32_t n_text_layer = 0;
  int32_t n_mels = 0;
  int32_t ftype = 0;
  uint64_t file_bytes = 0;
  uint64_t weights_bytes = 0;  // sum of the tensors' data: what the weights occupy once loaded
  int32_t n_tensors = 0;
  bool multilingual = false;
};

// Throws CoreError with MODEL_NOT_FOUND, MODEL_UNREADABLE or MODEL_INVALID and a reason.
ModelHeader inspect_model_file(const std::string &path);

}  // namespace talk2me
