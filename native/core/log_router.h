#pragma once
// One process-wide destination for whisper.cpp's and ggml's log lines.
//
// whisper_log_set is global, so the core installs its callback once and routes complete lines to a
// sink (the addon's bridge to JavaScript) at or above a level. Lines are also offered to a per-thread
// capture, which is how the core learns the buffer sizes whisper.cpp reports while it builds a state.
#include <functional>
#include <string>

namespace talk2me {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, None = 4 };

using LogSink = std::function<void(LogLevel, const std::string &)>;

// Installs the callback into whisper.cpp (idempotent). Until a sink is set, lines are dropped.
void install_log_router();
void set_log_sink(LogSink sink, LogLevel min_level);
void clear_log_sink();

class ScopedLogCapture;
// Passes a line to the calling thread's capture, if any (used by the router).
void deliver_captured(const std::string &line);

// While alive on a thread, every complete line logged on that thread is passed to `on_line`.
class ScopedLogCapture {
 public:
  explicit ScopedLogCapture(std::function<void(const std::string &)> on_line);
  ~ScopedLogCapture();
  ScopedLogCapture(const ScopedLogCapture &) = delete;
  ScopedLogCapture &operator=(const ScopedLogCapture &) = delete;

 private:
  std::function<void(const std::string &)> on_line_;
  ScopedLogCapture *previous_;
  friend void deliver_captured(const std::string &);
};

}  // namespace talk2me
