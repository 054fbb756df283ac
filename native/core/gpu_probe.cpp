#include "gpu_probe.h"

#if defined(TALK2ME_HAVE_CUDART)
#include <cuda_runtime_api.h>
#endif

namespace talk2me {

bool gpu_probe_compiled() {
#if defined(TALK2ME_HAVE_CUDART)
  return true;
#else
  return false;
#endif
}

bool gpu_backend_compiled() {
#if defined(TALK2ME_HAVE_GGML_CUDA)
  return true;
#else
  return false;
#endif
}

bool synchronize_gpu(int device) {
#if defined(TALK2ME_HAVE_CUDART)
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) {
    cudaGetLastError();
    return false;
  }
  int previous = 0;
  cudaGetDevice(&previous);
  const bool ok = cudaSetDevice(device) == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
  if (!ok) cudaGetLastError();
  cudaSetDevice(previous);
  return ok;
#else
  (void)device;
  return false;
#endif
}

std::optional<GpuMemory> probe_gpu(int device) {
#if defined(TALK2ME_HAVE_CUDART)
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) {
    cudaGetLastError();  // clear the sticky "no device" error so later calls start clean
    return std::nullopt;
  }
  int previous = 0;
  cudaGetDevice(&previous);
  if (cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return std::nullopt;
  }
  size_t free_bytes = 0, total_bytes = 0;
  const cudaError_t status = cudaMemGetInfo(&free_bytes, &total_bytes);
  cudaDeviceProp props{};
  const bool have_props = cudaGetDeviceProperties(&props, device) == cudaSuccess;
  cudaSetDevice(previous);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return std::nullopt;
  }
  GpuMemory m;
  m.free_bytes = free_bytes;
  m.total_bytes = total_bytes;
  m.device = device;
  m.name = have_props ? props.name : "";
  return m;
#else
  (void)device;
  return std::nullopt;
#endif
}

}  // namespace talk2me
