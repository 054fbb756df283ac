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

namespace {

// Takes the fault armed at `site` if it is of the wanted sort (thrown or skipped).
bool take(const char *site, bool skip, FaultKind &kind) {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_armed.load() || g_site != site || (g_kind == FaultKind::Skip) != skip) return false;
  g_armed.store(false);
  g_site.clear();
  kind = g_kind;
  return true;
}

}  // namespace

void fault_point(const char *site) {
  FaultKind kind;
  if (!take(site, false, kind)) return;
  if (kind == FaultKind::BadAlloc) throw std::bad_alloc();
  throw std::runtime_error(std::string("injected fault at ") + site);
}

bool fault_skips(const char *site) {
  FaultKind kind;
  return take(site, true, kind);
}

}  // namespace talk2me
