#include "conversions.h"

#include <cmath>
#include <string>

namespace talk2me::addon {
namespace {

Napi::Value field(const Napi::Object &object, const char *name) { return object.Get(name); }

template <typename Number>
void read_number(const Napi::Object &o, const char *name, Number &out) {
  Napi::Value v = field(o, name);
  if (v.IsUndefined()) return;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("Expected a number for ") + name);
  const double d = v.As<Napi::Number>().DoubleValue();
  // Casting NaN or an out-of-range double to an integer is undefined behaviour in C++.
  if (!std::isfinite(d) || d < -2147483648.0 || d > 2147483647.0) {
    throw Napi::TypeError::New(o.Env(), std::string("Expected a finite number for ") + name);
  }
  out = static_cast<Number>(d);
}

void read_bool(const Napi::Object &o, const char *name, bool &out) {
  Napi::Value v = field(o, name);
  if (v.IsUndefined()) return;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("Expected a boolean for ") + name);
  out = v.As<Napi::Boolean>().Value();
}

void read_string(const Napi::Object &o, const char *name, std::string &out) {
  Napi::Value v = field(o, name);
  if (v.IsUndefined()) return;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("Expected a string for ") + name);
  out = v.As<Napi::String>().Utf8Value();
}

Napi::Object as_object(const Napi::Value &value) {
  if (value.IsUndefined()) return Napi::Object::New(value.Env());
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), "Expected an options object");
  return value.As<Napi::Object>();
}

Napi::Number num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

}  // namespace

ModelOptions to_model_options(const Napi::Value &value) {
  Napi::Object o = as_object(value);
  ModelOptions m;
  read_number(o, "threads", m.threads);
  read_bool(o, "useGpu", m.use_gpu);
  read_number(o, "gpuDevice", m.gpu_device);
  read_bool(o, "flashAttention", m.flash_attn);
  read_number(o, "maxStates", m.max_states);
  return m;
}

TranscribeOptions to_transcribe_options(const Napi::Value &value) {
  Napi::Object o = as_object(value);
  TranscribeOptions t;
  read_string(o, "language", t.language);
  read_bool(o, "translate", t.translate);
  read_string(o, "initialPrompt", t.initial_prompt);
  read_number(o, "temperature", t.temperature);
  read_number(o, "temperatureIncrement", t.temperature_increment);
  read_number(o, "beamSize", t.beam_size);
  read_number(o, "bestOf", t.best_of);
  read_number(o, "threads", t.threads);
  read_bool(o, "timestamps", t.timestamps);
  read_bool(o, "wordTimestamps", t.word_timestamps);
  return t;
}

Napi::Object to_js(Napi::Env env, const Segment &s) {
  Napi::Object js = Napi::Object::New(env);
  js.Set("startMs", num(env, static_cast<double>(s.start_ms)));
  js.Set("endMs", num(env, static_cast<double>(s.end_ms)));
  js.Set("text", Napi::String::New(env, s.text));
  js.Set("noSpeechProb", num(env, s.no_speech_prob));
  Napi::Array tokens = Napi::Array::New(env, s.tokens.size());
  for (size_t i = 0; i < s.tokens.size(); ++i) tokens.Set(static_cast<uint32_t>(i), num(env, s.tokens[i]));
  js.Set("tokens", tokens);
  if (s.avg_logprob) js.Set("avgLogprob", num(env, *s.avg_logprob));
  Napi::Array words = Napi::Array::New(env, s.words.size());
  for (size_t i = 0; i < s.words.size(); ++i) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("text", Napi::String::New(env, s.words[i].text));
    w.Set("startMs", num(env, static_cast<double>(s.words[i].start_ms)));
    w.Set("endMs", num(env, static_cast<double>(s.words[i].end_ms)));
    words.Set(static_cast<uint32_t>(i), w);
  }
  js.Set("words", words);
  return js;
}

Napi::Object to_js(Napi::Env env, const TranscribeResult &r) {
  Napi::Array segments = Napi::Array::New(env, r.segments.size());
  for (size_t i = 0; i < r.segments.size(); ++i) segments.Set(static_cast<uint32_t>(i), to_js(env, r.segments[i]));
  Napi::Object timings = Napi::Object::New(env);
  timings.Set("melMs", num(env, r.timings.mel_ms));
  timings.Set("encodeMs", num(env, r.timings.encode_ms));
  timings.Set("decodeMs", num(env, r.timings.decode_ms));
  timings.Set("totalMs", num(env, r.timings.total_ms));
  Napi::Object js = Napi::Object::New(env);
  js.Set("segments", segments);
  js.Set("language", Napi::String::New(env, r.language));
  js.Set("durationMs", num(env, r.duration_ms));
  js.Set("timings", timings);
  return js;
}

Napi::Object to_js(Napi::Env env, const TrimReport &r) {
  Napi::Object js = Napi::Object::New(env);
  js.Set("statesFreed", num(env, r.states_freed));
  js.Set("stateBytesFreed", num(env, static_cast<double>(r.state_bytes_freed)));
  js.Set("rssBefore", num(env, static_cast<double>(r.rss_before)));
  js.Set("rssAfter", num(env, static_cast<double>(r.rss_after)));
  js.Set("heapTrimmed", Napi::Boolean::New(env, r.heap_trimmed));
  js.Set("gpuFreeBefore", r.gpu_free_before ? num(env, static_cast<double>(*r.gpu_free_before)) : env.Null());
  js.Set("gpuFreeAfter", r.gpu_free_after ? num(env, static_cast<double>(*r.gpu_free_after)) : env.Null());
  return js;
}

Napi::Object to_js(Napi::Env env, const RecreateReport &r) {
  Napi::Object js = Napi::Object::New(env);
  js.Set("previousPath", Napi::String::New(env, r.previous_path));
  js.Set("path", Napi::String::New(env, r.path));
  js.Set("loadMs", num(env, r.load_ms));
  js.Set("previousDraining", Napi::Boolean::New(env, r.previous_draining));
  return js;
}

Napi::Object to_js(Napi::Env env, const MemoryReport &m) {
  Napi::Object states = Napi::Object::New(env);
  states.Set("total", num(env, m.states_total));
  states.Set("idle", num(env, m.states_idle));
  states.Set("busy", num(env, m.states_busy));
  states.Set("max", num(env, m.states_max));
  Napi::Object js = Napi::Object::New(env);
  js.Set("path", Napi::String::New(env, m.path));
  js.Set("weightsBytes", num(env, static_cast<double>(m.weights_bytes)));
  js.Set("bytesPerState", num(env, static_cast<double>(m.bytes_per_state)));
  js.Set("states", states);
  js.Set("drainingContexts", num(env, m.draining_contexts));
  js.Set("rssBytes", num(env, static_cast<double>(m.rss_bytes)));
  if (m.gpu) {
    Napi::Object gpu = Napi::Object::New(env);
    gpu.Set("free", num(env, static_cast<double>(m.gpu->free_bytes)));
    gpu.Set("total", num(env, static_cast<double>(m.gpu->total_bytes)));
    gpu.Set("device", num(env, m.gpu->device));
    gpu.Set("name", Napi::String::New(env, m.gpu->name));
    js.Set("gpu", gpu);
  } else {
    js.Set("gpu", env.Null());
  }
  return js;
}

Napi::Object to_js(Napi::Env env, const ModelInfo &i) {
  Napi::Object js = Napi::Object::New(env);
  js.Set("path", Napi::String::New(env, i.path));
  js.Set("multilingual", Napi::Boolean::New(env, i.multilingual));
  js.Set("type", Napi::String::New(env, i.type));
  const ModelHeader &h = i.header;
  js.Set("nVocab", num(env, h.n_vocab));
  js.Set("nAudioCtx", num(env, h.n_audio_ctx));
  js.Set("nAudioState", num(env, h.n_audio_state));
  js.Set("nAudioLayer", num(env, h.n_audio_layer));
  js.Set("nTextCtx", num(env, h.n_text_ctx));
  js.Set("nTextLayer", num(env, h.n_text_layer));
  js.Set("nMels", num(env, h.n_mels));
  js.Set("ftype", num(env, h.ftype));
  js.Set("fileBytes", num(env, static_cast<double>(h.file_bytes)));
  js.Set("loadMs", num(env, i.load_ms));
  return js;
}

}  // namespace talk2me::addon
