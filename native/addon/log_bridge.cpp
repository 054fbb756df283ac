#include "log_bridge.h"

#include <memory>
#include <mutex>
#include <string>

#include "log_router.h"

namespace talk2me::addon {
namespace {

struct LogLine {
  LogLevel level;
  std::string text;
};

const char *level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    default: return "error";
  }
}

void call_js(Napi::Env env, Napi::Function fn, std::nullptr_t *, LogLine *line) {
  std::unique_ptr<LogLine> owned(line);
  if (env == nullptr || fn.IsEmpty()) return;
  // Runs from the event loop, outside any call from JavaScript: a handler that throws (or a string
  // that cannot be allocated) must end here, as a dropped line, not as an abort or an uncaught
  // exception. Catching the Napi::Error also clears the pending JavaScript exception.
  try {
    fn.Call({Napi::String::New(env, level_name(owned->level)), Napi::String::New(env, owned->text)});
  } catch (...) {
  }
}

using LogTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, LogLine, call_js>;

std::mutex g_mutex;
std::shared_ptr<LogTsfn> g_tsfn;

LogLevel parse_level(Napi::Env env, const Napi::Value &value) {
  if (value.IsUndefined()) return LogLevel::Warn;
  const std::string name = value.ToString().Utf8Value();
  if (name == "debug") return LogLevel::Debug;
  if (name == "info") return LogLevel::Info;
  if (name == "warn") return LogLevel::Warn;
  if (name == "error") return LogLevel::Error;
  throw Napi::TypeError::New(env, "Expected debug, info, warn or error for the log level but received " + name);
}

}  // namespace

void ReleaseLogger() {
  clear_log_sink();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_tsfn) {
    g_tsfn->Release();
    g_tsfn.reset();
  }
}

Napi::Value SetLogger(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ReleaseLogger();
  if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) return env.Undefined();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "Expected a function or null for the logger");
  const LogLevel min_level = parse_level(env, info[1]);
  auto tsfn = std::make_shared<LogTsfn>(LogTsfn::New(env, info[0].As<Napi::Function>(), "talk2me.log", 0, 1));
  tsfn->Unref(env);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_tsfn = tsfn;
  }
  set_log_sink(
      [tsfn](LogLevel level, const std::string &text) {
        // On whisper.cpp's thread, inside its logging: nothing may be thrown back into it.
        try {
          auto *line = new LogLine{level, text};
          if (tsfn->NonBlockingCall(line) != napi_ok) delete line;
        } catch (...) {
        }
      },
      min_level);
  return env.Undefined();
}

}  // namespace talk2me::addon
