#pragma once
// A pool of whisper_state over one whisper_context: the weights are loaded once, and each
// concurrent transcription needs a state of its own (kv caches + compute buffers; their size at
// tiny.en is in bench/RESULTS.md). States are created on demand up to a maximum and reused, because building one per
// request costs time and fragments the heap; trim() frees the idle ones.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

struct whisper_context;
struct whisper_state;

namespace talk2me {

struct PoolCounts {
  int total = 0;
  int idle = 0;
  int busy = 0;
  int max = 0;
};

class StatePool {
 public:
  StatePool(whisper_context *ctx, int max_states);
  ~StatePool();  // frees every state; callers make sure none is busy
  StatePool(const StatePool &) = delete;
  StatePool &operator=(const StatePool &) = delete;

  // Hands out an idle state, or makes one while under the maximum, or waits for one to come back.
  // Gives up with ABORTED as soon as `cancelled()` answers true.
  whisper_state *acquire(const std::function<bool()> &cancelled);
  void release(whisper_state *state);

  // Frees the idle states; returns how many.
  int free_idle();
  // Wakes waiters so they look at their cancel flags again.
  void wake_all();

  PoolCounts counts() const;
  // Buffers of one state (kv caches + compute buffers) as whisper.cpp reports them when it builds
  // one; 0 until the first state exists.
  uint64_t bytes_per_state() const { return bytes_per_state_.load(); }

 private:
  whisper_state *create_state();

  whisper_context *ctx_;
  const int max_states_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<whisper_state *> idle_;
  int total_ = 0;      // idle + busy + being created
  int creating_ = 0;
  std::atomic<uint64_t> bytes_per_state_{0};
};

// Returns the state to its pool when the transcription ends, however it ends.
class StateLease {
 public:
  StateLease(StatePool &pool, whisper_state *state) : pool_(pool), state_(state) {}
  ~StateLease() { pool_.release(state_); }
  StateLease(const StateLease &) = delete;
  StateLease &operator=(const StateLease &) = delete;
  whisper_state *get() const { return state_; }

 private:
  StatePool &pool_;
  whisper_state *state_;
};

}  // namespace talk2me
