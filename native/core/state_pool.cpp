#include "state_pool.h"

#include <chrono>
#include <cstdlib>
#include <string>

#include "error.h"
#include "log_router.h"
#include "whisper.h"

namespace talk2me {
namespace {

// Parses one of whisper_init_state's size lines ("... compute buffer (decode) =   95.91 MB") into
// bytes; 0 for any other line.
uint64_t state_buffer_bytes(const std::string &line) {
  if (line.find("whisper_init_state") == std::string::npos) return 0;
  const bool is_buffer = line.find(" size") != std::string::npos || line.find("compute buffer") != std::string::npos;
  const auto eq = line.rfind('=');
  if (!is_buffer || eq == std::string::npos || line.size() < 3 || line.compare(line.size() - 2, 2, "MB") != 0) return 0;
  const double mb = std::strtod(line.c_str() + eq + 1, nullptr);
  return mb > 0 ? static_cast<uint64_t>(mb * 1e6) : 0;
}

}  // namespace

StatePool::StatePool(whisper_context *ctx, int max_states) : ctx_(ctx), max_states_(max_states) {}

StatePool::~StatePool() {
  for (whisper_state *state : idle_) whisper_free_state(state);
}

whisper_state *StatePool::create_state() {
  uint64_t bytes = 0;
  whisper_state *state = nullptr;
  {
    ScopedLogCapture capture([&bytes](const std::string &line) { bytes += state_buffer_bytes(line); });
    state = guard("whisper_init_state", [&] { return whisper_init_state(ctx_); });
  }
  if (state == nullptr) throw CoreError(code::kStateInitFailed, "whisper.cpp could not create a state (out of memory?)");
  if (bytes > 0) bytes_per_state_.store(bytes);
  return state;
}

whisper_state *StatePool::acquire(const std::function<bool()> &cancelled) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (cancelled()) throw CoreError(code::kAborted, "The transcription was aborted");
    if (!idle_.empty()) {
      whisper_state *state = idle_.back();
      idle_.pop_back();
      return state;
    }
    if (total_ < max_states_) break;
    // Cancellation is rare and wake_all() covers it; the timeout is a backstop.
    returned_.wait_for(lock, std::chrono::milliseconds(50));
  }
  ++total_;
  ++creating_;
  lock.unlock();
  try {
    whisper_state *state = create_state();
    lock.lock();
    --creating_;
    return state;
  } catch (...) {
    lock.lock();
    --creating_;
    --total_;
    returned_.notify_one();
    throw;
  }
}

void StatePool::release(whisper_state *state) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(state);
  }
  returned_.notify_one();
}

int StatePool::free_idle() {
  std::vector<whisper_state *> victims;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    victims.swap(idle_);
    total_ -= static_cast<int>(victims.size());
  }
  for (whisper_state *state : victims) whisper_free_state(state);
  returned_.notify_all();  // room to create again
  return static_cast<int>(victims.size());
}

void StatePool::wake_all() { returned_.notify_all(); }

PoolCounts StatePool::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolCounts c;
  c.total = total_;
  c.idle = static_cast<int>(idle_.size());
  c.busy = total_ - c.idle;
  c.max = max_states_;
  return c;
}

}  // namespace talk2me
