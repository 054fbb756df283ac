#pragma once
// Forwards whisper.cpp / ggml log lines to a JavaScript function: setLogger(fn, minLevel) or
// setLogger(null). Lines arrive from any thread; a thread-safe function carries them to the
// JavaScript thread. It is unref'd, so logging never keeps the process alive.
#include <napi.h>

namespace talk2me::addon {

Napi::Value SetLogger(const Napi::CallbackInfo &info);
// Drops the JavaScript side when the environment shuts down.
void ReleaseLogger();

}  // namespace talk2me::addon
