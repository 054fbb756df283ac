#pragma once
// Free and total device memory as the CUDA runtime reports them (cudaMemGetInfo).
#include <cstdint>
#include <optional>
#include <string>

namespace talk2me {

struct GpuMemory {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
  int device = 0;
  std::string name;
};

// std::nullopt when the build has no CUDA runtime or the machine has no usable device: both are
// ordinary answers, never errors.
std::optional<GpuMemory> probe_gpu(int device);

// Whether this build can ask the CUDA runtime at all.
bool gpu_probe_compiled();

}  // namespace talk2me
