#pragma once
// What the process holds after a step: RSS, and device memory as the CUDA runtime reports it
// (cudaMemGetInfo through native/core's probe, read after cudaDeviceSynchronize).
#include <cstdint>
#include <optional>
#include <string>

#include "gpu_probe.h"

namespace talk2me::check {

struct Snapshot {
  std::string step;
  uint64_t rss = 0;
  std::optional<GpuMemory> gpu;
  // Device memory in use on the whole device (total - free): this process and any other.
  uint64_t gpu_used() const { return gpu ? gpu->total_bytes - gpu->free_bytes : 0; }
};

class Meter {
 public:
  // gpu_device < 0: RSS only.
  explicit Meter(int gpu_device) : gpu_device_(gpu_device) {}
  Snapshot take(const std::string &step) const;
  // Prints the table's header, then one row per snapshot; the deltas are against `baseline` once
  // there is one.
  void print_header() const;
  void print_row(const Snapshot &s, const std::optional<Snapshot> &baseline, const std::string &note) const;

 private:
  int gpu_device_;
};

double to_mib(uint64_t bytes);
// Signed difference in MiB, for "used now minus used then".
double delta_mib(uint64_t now, uint64_t then);

}  // namespace talk2me::check
