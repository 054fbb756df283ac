#pragma once
// JavaScript values to the core's option structs and back. Option objects are validated in
// TypeScript first; these checks only stop a wrong type from reaching C++ (TypeError).
#include <napi.h>

#include "types.h"

namespace talk2me::addon {

ModelOptions to_model_options(const Napi::Value &value);
TranscribeOptions to_transcribe_options(const Napi::Value &value);

Napi::Object to_js(Napi::Env env, const Segment &segment);
Napi::Object to_js(Napi::Env env, const TranscribeResult &result);
Napi::Object to_js(Napi::Env env, const TrimReport &report);
Napi::Object to_js(Napi::Env env, const RecreateReport &report);
Napi::Object to_js(Napi::Env env, const MemoryReport &report);
Napi::Object to_js(Napi::Env env, const ModelInfo &info);

}  // namespace talk2me::addon
