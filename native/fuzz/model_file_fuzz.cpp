// libFuzzer target for native/core/model_file.cpp, the check that walks a ggml model file before
// whisper.cpp is allowed to read it. A model path can come from an operator's config or a download,
// so the file is treated as hostile: whatever its bytes, the check must either return a header or
// throw CoreError(MODEL_INVALID), and never read out of bounds, overflow, leak or hang.
//
// The validator takes a path, so each input is written to one memfd reused for the whole run and
// handed over as /proc/self/fd/N: real file I/O (stat, fopen, fread, fseeko), no disk traffic.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "error.h"
#include "model_file.h"

namespace {

int g_fd = -1;
std::string g_path;

[[noreturn]] void die(const char *why, const std::string &detail) {
  std::fprintf(stderr, "model_file_fuzz: %s: %s\n", why, detail.c_str());
  std::abort();  // libFuzzer saves the input that got here as a crash
}

void put_input(const uint8_t *data, size_t size) {
  if (::ftruncate(g_fd, 0) != 0) die("ftruncate", "");
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(g_fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) die("pwrite", "");
    done += static_cast<size_t>(n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  g_fd = ::memfd_create("talk2me-model-fuzz", 0);
  if (g_fd < 0) die("memfd_create failed", "");
  g_path = "/proc/self/fd/" + std::to_string(g_fd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  put_input(data, size);
  try {
    const talk2me::ModelHeader h = talk2me::inspect_model_file(g_path);
    // Accepted: then the header must describe exactly this file.
    if (h.file_bytes != size) die("accepted with a wrong size", std::to_string(h.file_bytes));
    if (h.n_tensors <= 0 || h.weights_bytes == 0 || h.weights_bytes > size) die("accepted with impossible weights", "");
  } catch (const talk2me::CoreError &e) {
    // The file exists and is readable, so damage is the only acceptable reason to refuse it.
    if (e.code() != talk2me::code::kModelInvalid) die("refused with an unexpected code", e.code() + ": " + e.what());
  } catch (const std::exception &e) {
    die("an exception other than CoreError escaped", e.what());
  }
  return 0;
}
