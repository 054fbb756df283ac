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

// Whether whisper.cpp was built with ggml's CUDA backend (TALK2ME_CUDA=1). Only then can a model
// hold device memory; a CPU build with the probe compiled in still answers probe_gpu().
bool gpu_backend_compiled();

// Waits until `device` has finished all work queued on it (cudaDeviceSynchronize), so memory that
// ggml-cuda has freed is measured settled. False without a CUDA runtime or such a device.
bool synchronize_gpu(int device);

}  // namespace talk2me
