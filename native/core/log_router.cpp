#include "log_router.h"

#include <mutex>

#include "whisper.h"

namespace talk2me {
namespace {

std::mutex g_sink_mutex;
LogSink g_sink;
LogLevel g_min_level = LogLevel::None;
thread_local ScopedLogCapture *t_capture = nullptr;
// ggml logs a line in pieces (GGML_LOG_LEVEL_CONT); assemble per thread until the newline.
thread_local std::string t_pending;
thread_local LogLevel t_pending_level = LogLevel::Info;

LogLevel from_ggml(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_ERROR: return LogLevel::Error;
    case GGML_LOG_LEVEL_WARN: return LogLevel::Warn;
    case GGML_LOG_LEVEL_DEBUG: return LogLevel::Debug;
    default: return LogLevel::Info;
  }
}

void emit(LogLevel level, std::string line) {
  deliver_captured(line);
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  if (g_sink && level >= g_min_level) g_sink(level, line);
}

void route(ggml_log_level level, const char *text) {
  if (level != GGML_LOG_LEVEL_CONT) t_pending_level = from_ggml(level);
  t_pending += text;
  size_t newline;
  while ((newline = t_pending.find('\n')) != std::string::npos) {
    std::string line = t_pending.substr(0, newline);
    t_pending.erase(0, newline + 1);
    if (!line.empty()) emit(t_pending_level, std::move(line));
  }
}

// Called by whisper.cpp and by ggml, which is C: no exception may leave it. A line that cannot be
// assembled (out of memory) is dropped.
void on_whisper_log(ggml_log_level level, const char *text, void *) noexcept {
  if (text == nullptr) return;
  try {
    route(level, text);
  } catch (...) {
    t_pending.clear();
  }
}

}  // namespace

void deliver_captured(const std::string &line) {
  if (t_capture != nullptr) t_capture->on_line_(line);
}

void install_log_router() {
  static std::once_flag once;
  std::call_once(once, [] { whisper_log_set(on_whisper_log, nullptr); });
}

void set_log_sink(LogSink sink, LogLevel min_level) {
  install_log_router();
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  g_sink = std::move(sink);
  g_min_level = min_level;
}

void clear_log_sink() {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  g_sink = nullptr;
  g_min_level = LogLevel::None;
}

ScopedLogCapture::ScopedLogCapture(std::function<void(const std::string &)> on_line)
    : on_line_(std::move(on_line)), previous_(t_capture) {
  install_log_router();
  t_capture = this;
}

ScopedLogCapture::~ScopedLogCapture() { t_capture = previous_; }

}  // namespace talk2me
