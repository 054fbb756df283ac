#include "model_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "error.h"
#include "ggml.h"

namespace talk2me {
namespace {

constexpr uint32_t kGgmlMagic = 0x67676d6c;  // "ggml", the legacy format whisper.cpp reads
constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int32_t kWhisperFftBins = 201;     // 1 + WHISPER_N_FFT / 2
// Bounds that every published Whisper model fits inside; anything outside is damage, and letting
// it through would size allocations from garbage.
constexpr int32_t kMinVocab = 51864, kMaxVocab = 51964;
constexpr int32_t kMaxAudioCtx = 1500, kMaxTextCtx = 448;
constexpr int32_t kMaxState = 8192, kMaxHeads = 128, kMaxLayers = 64;
constexpr uint32_t kMaxTokenBytes = 1024;
constexpr int32_t kMaxTensorName = 256;

// No message names the path: messages can reach HTTP clients (a 503 while the model is reloaded),
// and the server's paths are not theirs to see. The TypeScript side attaches the path to the error
// for the log (WhisperError.modelPath).
[[noreturn]] void invalid(const std::string & /*path*/, const std::string &why) {
  throw CoreError(code::kModelInvalid, "Invalid model file: " + why);
}

struct FileCloser {
  void operator()(FILE *f) const { std::fclose(f); }
};

class Reader {
 public:
  Reader(FILE *f, uint64_t size, const std::string &path) : f_(f), size_(size), path_(path) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return size_ - offset_; }

  template <typename T>
  T read(const char *what) {
    T value;
    bytes(&value, sizeof(T), what);
    return value;
  }

  void bytes(void *out, size_t n, const char *what) {
    if (n > remaining()) invalid(path_, std::string("file ends inside ") + what + " (truncated)");
    if (n > 0 && std::fread(out, 1, n, f_) != n) invalid(path_, std::string("read error inside ") + what);
    offset_ += n;
  }

  void skip(uint64_t n, const char *what) {
    if (n > remaining()) invalid(path_, std::string("file ends inside ") + what + " (truncated)");
    if (::fseeko(f_, static_cast<off_t>(offset_ + n), SEEK_SET) != 0) invalid(path_, std::string("cannot seek past ") + what);
    offset_ += n;
  }

 private:
  FILE *f_;
  uint64_t size_;
  uint64_t offset_ = 0;
  const std::string &path_;
};

void check_range(const std::string &path, const char *name, int32_t value, int32_t lo, int32_t hi) {
  if (value < lo || value > hi) {
    invalid(path, std::string(name) + " = " + std::to_string(value) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  }
}

// ftype values whisper.cpp's quantizer writes. ggml_ftype_to_ggml_type asserts (aborts) on others.
bool known_ftype(int32_t ftype) {
  switch (ftype) {
    case GGML_FTYPE_ALL_F32: case GGML_FTYPE_MOSTLY_F16: case GGML_FTYPE_MOSTLY_Q4_0: case GGML_FTYPE_MOSTLY_Q4_1:
    case GGML_FTYPE_MOSTLY_Q8_0: case GGML_FTYPE_MOSTLY_Q5_0: case GGML_FTYPE_MOSTLY_Q5_1: case GGML_FTYPE_MOSTLY_Q2_K:
    case GGML_FTYPE_MOSTLY_Q3_K: case GGML_FTYPE_MOSTLY_Q4_K: case GGML_FTYPE_MOSTLY_Q5_K: case GGML_FTYPE_MOSTLY_Q6_K:
      return true;
    default:
      return false;
  }
}

bool usable_type(int32_t type) {
  return type >= 0 && type < GGML_TYPE_COUNT && ggml_blck_size(static_cast<ggml_type>(type)) > 0 &&
         ggml_type_size(static_cast<ggml_type>(type)) > 0;
}

struct ExpectedTensor {
  int64_t ne[3];
  ggml_type type;
};

// The tensors whisper_model_load creates for these dimensions, by name (see its "prepare tensors").
std::map<std::string, ExpectedTensor> expected_tensors(const ModelHeader &h, ggml_type wtype) {
  const ggml_type vtype = wtype == GGML_TYPE_F32 ? GGML_TYPE_F32 : GGML_TYPE_F16;  // conv weights
  const ggml_type f32 = GGML_TYPE_F32;
  std::map<std::string, ExpectedTensor> t;
  auto add = [&](const std::string &name, int64_t a, int64_t b, int64_t c, ggml_type type) { t[name] = {{a, b, c}, type}; };
  const int64_t as = h.n_audio_state, ts = h.n_text_state;

  add("encoder.positional_embedding", as, h.n_audio_ctx, 1, f32);
  add("encoder.conv1.weight", 3, h.n_mels, as, vtype);
  add("encoder.conv1.bias", 1, as, 1, f32);
  add("encoder.conv2.weight", 3, as, as, vtype);
  add("encoder.conv2.bias", 1, as, 1, f32);
  add("encoder.ln_post.weight", as, 1, 1, f32);
  add("encoder.ln_post.bias", as, 1, 1, f32);
  auto block = [&](const std::string &p, int64_t s, bool with_cross) {
    add(p + "mlp_ln.weight", s, 1, 1, f32);
    add(p + "mlp_ln.bias", s, 1, 1, f32);
    add(p + "mlp.0.weight", s, 4 * s, 1, wtype);
    add(p + "mlp.0.bias", 4 * s, 1, 1, f32);
    add(p + "mlp.2.weight", 4 * s, s, 1, wtype);
    add(p + "mlp.2.bias", s, 1, 1, f32);
    auto attention = [&](const std::string &a) {
      add(p + a + "_ln.weight", s, 1, 1, f32);
      add(p + a + "_ln.bias", s, 1, 1, f32);
      add(p + a + ".query.weight", s, s, 1, wtype);
      add(p + a + ".query.bias", s, 1, 1, f32);
      add(p + a + ".key.weight", s, s, 1, wtype);  // the key projection has no bias
      add(p + a + ".value.weight", s, s, 1, wtype);
      add(p + a + ".value.bias", s, 1, 1, f32);
      add(p + a + ".out.weight", s, s, 1, wtype);
      add(p + a + ".out.bias", s, 1, 1, f32);
    };
    attention("attn");
    if (with_cross) attention("cross_attn");
  };
  for (int i = 0; i < h.n_audio_layer; ++i) block("encoder.blocks." + std::to_string(i) + ".", as, false);
  add("decoder.positional_embedding", ts, h.n_text_ctx, 1, f32);
  add("decoder.token_embedding.weight", ts, h.n_vocab, 1, wtype);
  add("decoder.ln.weight", ts, 1, 1, f32);
  add("decoder.ln.bias", ts, 1, 1, f32);
  for (int i = 0; i < h.n_text_layer; ++i) block("decoder.blocks." + std::to_string(i) + ".", ts, true);
  return t;
}

void check_hparams(const std::string &path, ModelHeader &h) {
  check_range(path, "n_vocab", h.n_vocab, kMinVocab, kMaxVocab);
  check_range(path, "n_audio_ctx", h.n_audio_ctx, 1, kMaxAudioCtx);
  check_range(path, "n_audio_state", h.n_audio_state, 1, kMaxState);
  check_range(path, "n_audio_head", h.n_audio_head, 1, kMaxHeads);
  check_range(path, "n_audio_layer", h.n_audio_layer, 1, kMaxLayers);
  check_range(path, "n_text_ctx", h.n_text_ctx, 1, kMaxTextCtx);
  check_range(path, "n_text_state", h.n_text_state, 1, kMaxState);
  check_range(path, "n_text_head", h.n_text_head, 1, kMaxHeads);
  check_range(path, "n_text_layer", h.n_text_layer, 1, kMaxLayers);
  if (h.n_mels != 80 && h.n_mels != 128) invalid(path, "n_mels = " + std::to_string(h.n_mels) + " (Whisper uses 80 or 128)");
  if (h.n_audio_state % h.n_audio_head != 0) invalid(path, "n_audio_state is not a multiple of n_audio_head");
  if (h.n_text_state % h.n_text_head != 0) invalid(path, "n_text_state is not a multiple of n_text_head");
  if (h.n_audio_state != h.n_text_state) invalid(path, "n_audio_state and n_text_state differ");
  const int32_t ftype = h.ftype % GGML_QNT_VERSION_FACTOR;
  if (h.ftype < 0 || !known_ftype(ftype)) invalid(path, "unknown ftype " + std::to_string(h.ftype));
  // With ftype 0 the loader wants f32 conv weights, and whisper.cpp 1.9.1's CPU convolution then
  // fails a GGML_ASSERT (abort) at the first transcription.
  if (ftype == GGML_FTYPE_ALL_F32) invalid(path, "all-f32 models (ftype 0) crash whisper.cpp 1.9.1 while transcribing; use an f16 or quantised model");
  h.multilingual = h.n_vocab >= 51865;
}

}  // namespace

ModelHeader inspect_model_file(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw CoreError(code::kModelNotFound, "Model file not found");
    throw CoreError(code::kModelUnreadable, std::string("Cannot access the model file: ") + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) throw CoreError(code::kModelUnreadable, "The model path is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw CoreError(code::kModelUnreadable, "The model path is not a regular file");

  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw CoreError(code::kModelUnreadable, std::string("Cannot open the model file: ") + std::strerror(errno));

  ModelHeader h;
  h.file_bytes = static_cast<uint64_t>(st.st_size);
  if (h.file_bytes == 0) invalid(path, "the file is empty");
  Reader r(file.get(), h.file_bytes, path);

  const auto magic = r.read<uint32_t>("the magic number");
  if (magic == kGgufMagic) invalid(path, "this is a GGUF file; whisper.cpp reads the legacy ggml format (ggml-*.bin)");
  if (magic != kGgmlMagic) invalid(path, "bad magic number (not a whisper.cpp ggml model)");

  for (int32_t *field : {&h.n_vocab, &h.n_audio_ctx, &h.n_audio_state, &h.n_audio_head, &h.n_audio_layer, &h.n_text_ctx,
                         &h.n_text_state, &h.n_text_head, &h.n_text_layer, &h.n_mels, &h.ftype}) {
    *field = r.read<int32_t>("the header");
  }
  check_hparams(path, h);

  const auto n_mel = r.read<int32_t>("the mel filters");
  const auto n_fft = r.read<int32_t>("the mel filters");
  if (n_mel != h.n_mels || n_fft != kWhisperFftBins) {
    invalid(path, "mel filters are " + std::to_string(n_mel) + " x " + std::to_string(n_fft) + ", expected " +
                      std::to_string(h.n_mels) + " x " + std::to_string(kWhisperFftBins));
  }
  r.skip(static_cast<uint64_t>(n_mel) * static_cast<uint64_t>(n_fft) * sizeof(float), "the mel filters");

  const auto n_vocab_file = r.read<int32_t>("the vocabulary");
  check_range(path, "vocabulary size", n_vocab_file, 1, h.n_vocab);
  bool has_space = false;
  std::string token;
  for (int32_t i = 0; i < n_vocab_file; ++i) {
    const auto len = r.read<uint32_t>("the vocabulary");
    if (len > kMaxTokenBytes) invalid(path, "token " + std::to_string(i) + " claims " + std::to_string(len) + " bytes");
    token.resize(len);
    r.bytes(token.data(), len, "the vocabulary");
    if (token == " ") has_space = true;
  }
  // whisper_process_logits looks the token " " up with .at(): without it every transcription throws.
  if (!has_space) invalid(path, "the vocabulary lacks the token \" \"");

  const ggml_type wtype = ggml_ftype_to_ggml_type(static_cast<ggml_ftype>(h.ftype % GGML_QNT_VERSION_FACTOR));
  auto expected = expected_tensors(h, wtype);
  std::set<std::string> seen;
  std::string name;
  while (r.remaining() > 0) {
    const auto n_dims = r.read<int32_t>("a tensor header");
    const auto name_len = r.read<int32_t>("a tensor header");
    const auto ttype = r.read<int32_t>("a tensor header");
    // The loader reads n_dims values into a 4-element array: more would overrun its stack.
    check_range(path, "tensor n_dims", n_dims, 1, 3);
    check_range(path, "tensor name length", name_len, 1, kMaxTensorName);
    if (!usable_type(ttype)) invalid(path, "tensor type " + std::to_string(ttype) + " is not a ggml type");
    int64_t ne[3] = {1, 1, 1};
    for (int i = 0; i < n_dims; ++i) {
      ne[i] = r.read<int32_t>("a tensor header");
      if (ne[i] < 1) invalid(path, "a tensor has a dimension of " + std::to_string(ne[i]));
    }
    name.resize(static_cast<size_t>(name_len));
    r.bytes(name.data(), name.size(), "a tensor name");
    const auto it = expected.find(name);
    if (it == expected.end()) invalid(path, "unknown tensor '" + name + "'");
    if (!seen.insert(name).second) invalid(path, "tensor '" + name + "' appears twice");
    const ExpectedTensor &want = it->second;
    if (ne[0] != want.ne[0] || ne[1] != want.ne[1] || ne[2] != want.ne[2]) {
      invalid(path, "tensor '" + name + "' has shape [" + std::to_string(ne[0]) + ", " + std::to_string(ne[1]) + ", " +
                        std::to_string(ne[2]) + "], expected [" + std::to_string(want.ne[0]) + ", " +
                        std::to_string(want.ne[1]) + ", " + std::to_string(want.ne[2]) + "]");
    }
    if (want.ne[0] % ggml_blck_size(want.type) != 0) invalid(path, "tensor '" + name + "' does not fit its block size");
    const uint64_t nelements = static_cast<uint64_t>(ne[0]) * ne[1] * ne[2];
    const uint64_t want_bytes = ggml_row_size(want.type, want.ne[0]) * static_cast<uint64_t>(want.ne[1] * want.ne[2]);
    // The same size test the loader makes, so a file it would refuse is refused here first.
    const uint64_t file_bytes = nelements * ggml_type_size(static_cast<ggml_type>(ttype)) / ggml_blck_size(want.type);
    if (file_bytes != want_bytes) {
      invalid(path, "tensor '" + name + "' is stored as " + ggml_type_name(static_cast<ggml_type>(ttype)) + ", expected " +
                        ggml_type_name(want.type));
    }
    r.skip(want_bytes, ("the data of tensor '" + name + "'").c_str());
    h.weights_bytes += want_bytes;
    h.n_tensors++;
  }
  if (seen.size() != expected.size()) {
    for (const auto &[want_name, _] : expected) {
      if (!seen.count(want_name)) {
        invalid(path, std::to_string(expected.size() - seen.size()) + " tensor(s) missing, first '" + want_name + "' (incomplete download?)");
      }
    }
  }
  return h;
}

}  // namespace talk2me
