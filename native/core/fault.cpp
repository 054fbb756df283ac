#include "fault.h"

#include <atomic>
#include <mutex>
#include <new>
#include <stdexcept>

namespace talk2me {
namespace {

std::mutex g_mutex;
std::string g_site;
FaultKind g_kind = FaultKind::BadAlloc;
// Read without the lock on every pass, so an unarmed site costs one atomic load.
std::atomic<bool> g_armed{false};

}  // namespace

void arm_fault(const std::string &site, FaultKind kind) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_site = site;
  g_kind = kind;
  g_armed.store(!site.empty());
}

void disarm_faults() { arm_fault("", FaultKind::BadAlloc); }

void fault_point(const char *site) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  FaultKind kind;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_armed.load() || g_site != site) return;
    g_armed.store(false);
    g_site.clear();
    kind = g_kind;
  }
  if (kind == FaultKind::BadAlloc) throw std::bad_alloc();
  throw std::runtime_error(std::string("injected fault at ") + site);
}

}  // namespace talk2me
