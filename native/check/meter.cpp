#include "meter.h"

#include <cstdio>

#include "memory_probe.h"

namespace talk2me::check {

double to_mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double delta_mib(uint64_t now, uint64_t then) { return (static_cast<double>(now) - static_cast<double>(then)) / (1024.0 * 1024.0); }

Snapshot Meter::take(const std::string &step) const {
  Snapshot s;
  s.step = step;
  if (gpu_device_ >= 0) {
    synchronize_gpu(gpu_device_);  // queued frees and kernels settle before the runtime is asked
    s.gpu = probe_gpu(gpu_device_);
  }
  s.rss = process_rss_bytes();
  return s;
}

void Meter::print_header() const {
  std::printf("%-38s %12s %12s %12s %10s %10s  %s\n", "step", "gpu used MiB", "vs baseline", "gpu free MiB", "rss MiB", "vs base", "note");
}

void Meter::print_row(const Snapshot &s, const std::optional<Snapshot> &baseline, const std::string &note) const {
  char used[32] = "-", used_delta[32] = "-", free_mib[32] = "-", rss_delta[32] = "-";
  if (s.gpu) {
    std::snprintf(used, sizeof used, "%.1f", to_mib(s.gpu_used()));
    std::snprintf(free_mib, sizeof free_mib, "%.1f", to_mib(s.gpu->free_bytes));
    if (baseline && baseline->gpu) std::snprintf(used_delta, sizeof used_delta, "%+.1f", delta_mib(s.gpu_used(), baseline->gpu_used()));
  }
  if (baseline) std::snprintf(rss_delta, sizeof rss_delta, "%+.1f", delta_mib(s.rss, baseline->rss));
  std::printf("%-38s %12s %12s %12s %10.1f %10s  %s\n", s.step.c_str(), used, used_delta, free_mib, to_mib(s.rss), rss_delta, note.c_str());
  std::fflush(stdout);
}

}  // namespace talk2me::check
