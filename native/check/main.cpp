// talk2me-check: exercises native/core without Node, on machines with or without a GPU.
//
//   talk2me-check MODEL [options]                    the memory check (memory_check.cpp)
//   talk2me-check --write-synthetic-model PATH       a model for it, where there is no Node
//
// Exit status: 0 every check passed, 1 a check failed, 2 bad arguments or an error.
#include <cstdio>
#include <exception>

#include "error.h"
#include "memory_check.h"
#include "memory_probe.h"
#include "model_file.h"
#include "options.h"
#include "synthetic_model.h"

namespace {

using namespace talk2me;
using namespace talk2me::check;

int write_model(const CheckOptions &o) {
  const SyntheticDims dims = o.dims == "mini" ? mini_dims() : tiny_dims();
  const uint64_t bytes = write_synthetic_model(o.path, dims, o.seed);
  // The same check the core makes before whisper.cpp reads a file.
  const ModelHeader h = inspect_model_file(o.path);
  std::printf("talk2me-check: wrote %s (%s dimensions, %llu bytes); the model check passes: %d tensors, %.1f MiB of weights\n",
              o.path.c_str(), o.dims.c_str(), static_cast<unsigned long long>(bytes), h.n_tensors,
              static_cast<double>(h.weights_bytes) / (1024.0 * 1024.0));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CheckOptions o;
  try {
    o = parse_options(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "talk2me-check: %s\n\n%s", e.what(), usage());
    return 2;
  }
  if (o.mode == CheckOptions::Mode::Help) {
    std::fputs(usage(), stdout);
    return 0;
  }
  // As the addon does: large buffers are mmapped for good, so freeing them lowers RSS at once.
  pin_mmap_threshold();
  try {
    if (o.mode == CheckOptions::Mode::WriteModel) return write_model(o);
    return run_memory_check(o);
  } catch (const CoreError &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "talk2me-check: %s: %s\n", e.code().c_str(), e.what());
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "talk2me-check: %s\n", e.what());
  }
  return 2;
}
