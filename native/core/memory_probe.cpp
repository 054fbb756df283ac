#include "memory_probe.h"

#include <cstdio>

#if defined(__linux__)
#include <malloc.h>
#include <unistd.h>
#endif

namespace talk2me {

uint64_t process_rss_bytes() {
#if defined(__linux__)
  FILE *f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size_pages = 0, resident_pages = 0;
  const int n = std::fscanf(f, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(f);
  if (n != 2) return 0;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
#else
  return 0;
#endif
}

bool release_free_heap() {
#if defined(__linux__) && defined(__GLIBC__)
  malloc_trim(0);
  return true;
#else
  return false;
#endif
}

void pin_mmap_threshold() {
#if defined(__linux__) && defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);  // setting it also turns off glibc's dynamic adjustment
#endif
}

}  // namespace talk2me
