#include "synthetic_model.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <vector>

#include "ggml.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ggml model format is little-endian; this writer copies memory as it is"
#endif

namespace talk2me::check {
namespace {

constexpr uint32_t kGgmlMagic = 0x67676d6c;  // "ggml" read as a little-endian u32
constexpr int32_t kFftBins = 201;            // bins of whisper's 400-point FFT, 0 Hz to Nyquist
constexpr int kSampleRate = 16000;
constexpr int kFftSize = 400;
// Like the files converted from OpenAI's checkpoints, the file holds the text tokens 0..50256 and
// whisper.cpp appends the special tokens (derived from n_vocab alone) itself.
constexpr size_t kFileVocabTokens = 50257;
constexpr int32_t kTypeF32 = 0, kTypeF16 = 1;

enum class Init { Matrix, Bias, NormWeight, NormBias, Positional };

struct TensorSpec {
  std::string name;
  std::vector<int32_t> shape;  // ggml order, ne[0] first
  int32_t type;
  Init init;
};

// Every tensor whisper_model_load creates for these dimensions (src/model/synthetic.ts, same order).
std::vector<TensorSpec> tensor_specs(const SyntheticDims &d) {
  const int32_t wtype = d.ftype == 0 ? kTypeF32 : kTypeF16;  // big matrices and convolution kernels
  std::vector<TensorSpec> t;
  auto add = [&](const std::string &name, std::vector<int32_t> shape, int32_t type, Init init) {
    t.push_back({name, std::move(shape), type, init});
  };
  auto linear = [&](const std::string &p, int32_t n_in, int32_t n_out, bool bias) {
    add(p + ".weight", {n_in, n_out}, wtype, Init::Matrix);
    if (bias) add(p + ".bias", {n_out}, kTypeF32, Init::Bias);
  };
  auto norm = [&](const std::string &p, int32_t n) {
    add(p + ".weight", {n}, kTypeF32, Init::NormWeight);
    add(p + ".bias", {n}, kTypeF32, Init::NormBias);
  };
  auto attention = [&](const std::string &p, int32_t n) {
    linear(p + ".query", n, n, true);
    linear(p + ".key", n, n, false);  // the key projection has no bias
    linear(p + ".value", n, n, true);
    linear(p + ".out", n, n, true);
  };
  auto block = [&](const std::string &p, int32_t n, bool cross) {
    norm(p + ".mlp_ln", n);
    linear(p + ".mlp.0", n, 4 * n, true);
    linear(p + ".mlp.2", 4 * n, n, true);
    norm(p + ".attn_ln", n);
    attention(p + ".attn", n);
    if (cross) {
      norm(p + ".cross_attn_ln", n);
      attention(p + ".cross_attn", n);
    }
  };
  const int32_t ns = d.n_audio_state;
  add("encoder.positional_embedding", {ns, d.n_audio_ctx}, kTypeF32, Init::Positional);
  add("encoder.conv1.weight", {3, d.n_mels, ns}, wtype, Init::Matrix);
  add("encoder.conv1.bias", {1, ns}, kTypeF32, Init::Bias);
  add("encoder.conv2.weight", {3, ns, ns}, wtype, Init::Matrix);
  add("encoder.conv2.bias", {1, ns}, kTypeF32, Init::Bias);
  norm("encoder.ln_post", ns);
  for (int i = 0; i < d.n_audio_layer; ++i) block("encoder.blocks." + std::to_string(i), ns, false);
  const int32_t nt = d.n_text_state;
  add("decoder.positional_embedding", {nt, d.n_text_ctx}, kTypeF32, Init::Positional);
  add("decoder.token_embedding.weight", {nt, d.n_vocab}, wtype, Init::Matrix);
  norm("decoder.ln", nt);
  for (int i = 0; i < d.n_text_layer; ++i) block("decoder.blocks." + std::to_string(i), nt, true);
  return t;
}

// Centre and half-width of the uniform distribution a kind of tensor is drawn from.
void init_range(Init init, float &centre, float &half_width) {
  switch (init) {
    case Init::Matrix: case Init::Positional: centre = 0.0f; half_width = 0.05f; return;
    case Init::Bias: case Init::NormBias: centre = 0.0f; half_width = 0.01f; return;
    case Init::NormWeight: centre = 1.0f; half_width = 0.02f; return;
  }
}

class XorShift32 {
 public:
  explicit XorShift32(uint32_t seed) : x_(seed != 0 ? seed : 0x9e3779b9u) {}
  float next_unit() {  // [0, 1)
    x_ ^= x_ << 13;
    x_ ^= x_ >> 17;
    x_ ^= x_ << 5;
    return static_cast<float>(x_ * 2.3283064365386963e-10);
  }

 private:
  uint32_t x_;
};

// One stream per tensor, from the model seed and the tensor's name (FNV-1a).
uint32_t tensor_seed(uint32_t seed, const std::string &name) {
  uint32_t h = 0x811c9dc5u ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 0x01000193u;
  return h != 0 ? h : 0x2545f491u;
}

// Tokens whisper.cpp looks up by text (" " is required; " -" and " '" are used when it suppresses
// non-speech tokens) and a few common words, so decoded gibberish still looks like words.
const char *const kFixedTokens[] = {" -", " '", " --", " ...", "...", " \"", " (", ").", " [", "]", "'s", "'t",
                                    " the", " The", " and", " a", " to", " of", " I", " you", " it", " is",
                                    " that", " in", " we", " so", " okay", " yes", " no", " well"};

std::vector<std::string> vocabulary(int32_t n_vocab) {
  std::vector<std::string> tokens;
  std::set<std::string> seen;
  auto push = [&](std::string token) {
    if (seen.insert(token).second) tokens.push_back(std::move(token));
  };
  for (int b = 0; b < 256; ++b) push(std::string(1, static_cast<char>(b)));  // byte-level base tokens: " " is id 32
  for (const char *token : kFixedTokens) push(token);
  // Made-up words: the index written in base 90 with one two-letter syllable per digit, so every
  // index gives a different word; two in three start with a space, as most GPT-2 word tokens do.
  static const char kConsonants[] = "bcdfghjklmnprstvwz";
  static const char kVowels[] = "aeiou";
  constexpr uint32_t kSyllables = (sizeof(kConsonants) - 1) * (sizeof(kVowels) - 1);
  for (uint32_t i = 0; tokens.size() < kFileVocabTokens - 1; ++i) {
    std::string word;
    uint32_t n = i;
    do {
      const uint32_t s = n % kSyllables;
      word += kConsonants[s / (sizeof(kVowels) - 1)];
      word += kVowels[s % (sizeof(kVowels) - 1)];
      n /= kSyllables;
    } while (n > 0);
    push(i % 3 != 0 ? " " + word : word);
  }
  // Id 50256: end of text for English-only models, empty for multilingual ones (as converted).
  tokens.push_back(n_vocab > 51864 ? "" : "<|endoftext|>");
  return tokens;
}

// Slaney-style triangular mel filters (area-normalised) over the 201 FFT bins at 16 kHz, row-major.
std::vector<float> mel_filters(int32_t n_mels) {
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, log_step = std::log(6.4) / 27.0;
  auto hz_to_mel = [&](double hz) { return hz < min_log_hz ? hz / f_sp : min_log_mel + std::log(hz / min_log_hz) / log_step; };
  auto mel_to_hz = [&](double mel) { return mel < min_log_mel ? mel * f_sp : min_log_hz * std::exp(log_step * (mel - min_log_mel)); };
  const double max_mel = hz_to_mel(kSampleRate / 2.0);
  std::vector<double> edges(static_cast<size_t>(n_mels) + 2);
  for (size_t i = 0; i < edges.size(); ++i) edges[i] = mel_to_hz(max_mel * static_cast<double>(i) / (n_mels + 1));
  std::vector<float> out(static_cast<size_t>(n_mels) * kFftBins);
  for (int32_t m = 0; m < n_mels; ++m) {
    const double lo = edges[m], mid = edges[m + 1], hi = edges[m + 2], norm = 2.0 / (hi - lo);
    for (int32_t k = 0; k < kFftBins; ++k) {
      const double f = static_cast<double>(k) * kSampleRate / kFftSize;
      const double w = std::max(0.0, std::min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      out[static_cast<size_t>(m) * kFftBins + k] = static_cast<float>(w * norm);
    }
  }
  return out;
}

class FileWriter {
 public:
  explicit FileWriter(const std::string &path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (f_ == nullptr) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~FileWriter() {
    if (f_ != nullptr) std::fclose(f_);
  }
  FileWriter(const FileWriter &) = delete;
  FileWriter &operator=(const FileWriter &) = delete;

  void raw(const void *data, size_t n) {
    if (n > 0 && std::fwrite(data, 1, n, f_) != n) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    written_ += n;
  }
  void i32(int32_t v) { raw(&v, sizeof v); }
  void u32(uint32_t v) { raw(&v, sizeof v); }

  // Flushes to disk and closes; the file is complete only if this returns.
  void finish() {
    const bool ok = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok || !closed) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
  }
  uint64_t written() const { return written_; }

 private:
  std::string path_;
  FILE *f_;
  uint64_t written_ = 0;
};

void write_tensor_data(FileWriter &w, const TensorSpec &spec, uint32_t seed) {
  float centre = 0, half_width = 0;
  init_range(spec.init, centre, half_width);
  XorShift32 rng(tensor_seed(seed, spec.name));
  size_t left = 1;
  for (int32_t ne : spec.shape) left *= static_cast<size_t>(ne);
  constexpr size_t kChunk = 1 << 16;
  std::vector<float> values(kChunk);
  std::vector<ggml_fp16_t> halves(spec.type == kTypeF16 ? kChunk : 0);
  while (left > 0) {
    const size_t n = std::min(left, kChunk);
    for (size_t i = 0; i < n; ++i) values[i] = centre - half_width + 2.0f * half_width * rng.next_unit();
    if (spec.type == kTypeF16) {
      ggml_fp32_to_fp16_row(values.data(), halves.data(), static_cast<int64_t>(n));
      w.raw(halves.data(), n * sizeof(ggml_fp16_t));
    } else {
      w.raw(values.data(), n * sizeof(float));
    }
    left -= n;
  }
}

}  // namespace

SyntheticDims tiny_dims() { return {51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1}; }
SyntheticDims mini_dims() { return {51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 1}; }

uint64_t write_synthetic_model(const std::string &path, const SyntheticDims &d, uint32_t seed) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    FileWriter w(tmp);
    w.u32(kGgmlMagic);
    for (int32_t v : {d.n_vocab, d.n_audio_ctx, d.n_audio_state, d.n_audio_head, d.n_audio_layer, d.n_text_ctx,
                      d.n_text_state, d.n_text_head, d.n_text_layer, d.n_mels, d.ftype}) {
      w.i32(v);
    }
    const std::vector<float> filters = mel_filters(d.n_mels);
    w.i32(d.n_mels);
    w.i32(kFftBins);
    w.raw(filters.data(), filters.size() * sizeof(float));

    const std::vector<std::string> tokens = vocabulary(d.n_vocab);
    w.i32(static_cast<int32_t>(tokens.size()));
    for (const std::string &token : tokens) {
      w.u32(static_cast<uint32_t>(token.size()));
      w.raw(token.data(), token.size());
    }

    for (const TensorSpec &spec : tensor_specs(d)) {
      w.i32(static_cast<int32_t>(spec.shape.size()));
      w.i32(static_cast<int32_t>(spec.name.size()));
      w.i32(spec.type);
      for (int32_t ne : spec.shape) w.i32(ne);
      w.raw(spec.name.data(), spec.name.size());
      write_tensor_data(w, spec, seed);
    }
    const uint64_t bytes = w.written();
    w.finish();
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
    return bytes;
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

}  // namespace talk2me::check
