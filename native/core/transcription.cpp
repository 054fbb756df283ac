#include "transcription.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>

#include "error.h"
#include "whisper.h"

namespace talk2me {
namespace {

constexpr int kSampleRate = 16000;
constexpr int kMaxDecoders = 8;  // WHISPER_MAX_DECODERS: whisper_full fails above it
constexpr int kMaxThreads = 256;
constexpr size_t kMaxPromptBytes = 4096;

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// Phase clock fed by whisper.cpp's callbacks (whisper_get_timings only covers a context's default
// state, which a pool of states does not use).
struct RunProbe {
  const std::atomic<bool> *cancelled;
  Clock::time_point started;
  Clock::time_point encode_started;
  bool first_encode_seen = false;
  bool encoding = false;
  double mel_ms = 0;
  double encode_ms = 0;
  // What the segment and progress callbacks need.
  const TranscribeHooks *hooks = nullptr;
  whisper_context *ctx = nullptr;
  const TranscribeOptions *options = nullptr;
  int64_t clip_end_ms = 0;
  int last_progress = -1;
};

bool on_abort_check(void *data) { return static_cast<RunProbe *>(data)->cancelled->load(std::memory_order_relaxed); }

bool on_encoder_begin(whisper_context *, whisper_state *, void *data) {
  auto *probe = static_cast<RunProbe *>(data);
  probe->encode_started = Clock::now();
  if (!probe->first_encode_seen) {
    probe->mel_ms = ms_between(probe->started, probe->encode_started);
    probe->first_encode_seen = true;
  }
  probe->encoding = true;
  return !probe->cancelled->load(std::memory_order_relaxed);
}

void on_logits(whisper_context *, whisper_state *, const whisper_token_data *, int, float *, void *data) {
  auto *probe = static_cast<RunProbe *>(data);
  if (probe->encoding) {
    probe->encode_ms += ms_between(probe->encode_started, Clock::now());
    probe->encoding = false;
  }
}

// Sub-word tokens join into words: a token that starts with a space starts a new word.
void add_token_to_words(std::vector<Word> &words, const std::string &text, int64_t t0_ms, int64_t t1_ms) {
  const bool starts_word = words.empty() || (!text.empty() && text.front() == ' ');
  if (starts_word) {
    Word w;
    w.text = text.empty() || text.front() != ' ' ? text : text.substr(1);
    w.start_ms = t0_ms;
    w.end_ms = t1_ms;
    words.push_back(std::move(w));
    return;
  }
  words.back().text += text;
  words.back().end_ms = std::max(words.back().end_ms, t1_ms);
}

// Segment i of the state, read from whisper.cpp.
Segment read_segment(whisper_context *ctx, whisper_state *state, int i, bool want_words, int64_t clip_end_ms) {
  Segment s;
  // whisper.cpp counts in 10 ms steps and may place the last timestamp past the end of the
  // padded final window: nothing can be said after the clip ends, so clamp to it.
  s.start_ms = std::clamp<int64_t>(whisper_full_get_segment_t0_from_state(state, i) * 10, 0, clip_end_ms);
  s.end_ms = std::clamp<int64_t>(whisper_full_get_segment_t1_from_state(state, i) * 10, s.start_ms, clip_end_ms);
  const char *text = whisper_full_get_segment_text_from_state(state, i);
  s.text = text != nullptr ? text : "";
  s.no_speech_prob = whisper_full_get_segment_no_speech_prob_from_state(state, i);

  // Every id from end-of-text up is special (timestamps, language, task): not text.
  const whisper_token eot = whisper_token_eot(ctx);
  const int n_tokens = whisper_full_n_tokens_from_state(state, i);
  double logprob_sum = 0;
  for (int j = 0; j < n_tokens; ++j) {
    const whisper_token_data data = whisper_full_get_token_data_from_state(state, i, j);
    if (data.id >= eot) continue;
    s.tokens.push_back(data.id);
    logprob_sum += data.plog;
    if (!want_words) continue;
    const char *piece = whisper_full_get_token_text_from_state(ctx, state, i, j);
    // A word's times stay inside its segment and never run backwards, whatever the token
    // timestamps' heuristics placed.
    const int64_t floor_ms = s.words.empty() ? s.start_ms : s.words.back().start_ms;
    const int64_t t0 = std::clamp<int64_t>(data.t0 * 10, floor_ms, s.end_ms);
    const int64_t t1 = std::clamp<int64_t>(data.t1 * 10, t0, s.end_ms);
    add_token_to_words(s.words, piece != nullptr ? piece : "", t0, t1);
  }
  if (!s.tokens.empty()) s.avg_logprob = static_cast<float>(logprob_sum / static_cast<double>(s.tokens.size()));
  // A lone space token makes an empty word: it says nothing.
  s.words.erase(std::remove_if(s.words.begin(), s.words.end(), [](const Word &w) { return w.text.empty(); }), s.words.end());
  return s;
}

void on_new_segments(whisper_context *, whisper_state *state, int n_new, void *data) {
  auto *probe = static_cast<RunProbe *>(data);
  const int n = whisper_full_n_segments_from_state(state);
  for (int i = std::max(0, n - n_new); i < n; ++i) {
    probe->hooks->on_segment(read_segment(probe->ctx, state, i, probe->options->word_timestamps, probe->clip_end_ms));
  }
}

void on_progress(whisper_context *, whisper_state *, int percent, void *data) {
  auto *probe = static_cast<RunProbe *>(data);
  const int clamped = std::clamp(percent, 0, 100);
  if (clamped <= probe->last_progress) return;
  probe->last_progress = clamped;
  probe->hooks->on_progress(clamped);
}

[[noreturn]] void bad(const std::string &why) { throw CoreError(code::kInvalidArgument, why); }

}  // namespace

void validate_transcribe_options(const Context &context, const TranscribeOptions &o, size_t n_samples) {
  if (n_samples == 0) bad("Expected at least one audio sample");
  if (n_samples > static_cast<size_t>(INT_MAX)) bad("The audio is too long for whisper.cpp (more than 2^31 samples)");
  const bool detect = o.language.empty() || o.language == "auto";
  if (!detect && whisper_lang_id(o.language.c_str()) < 0) bad("Unknown language '" + o.language + "'");
  if (!context.info().multilingual && !detect && o.language != "en") {
    // No path in the message: it goes back to the HTTP client.
    bad("The model is English-only; it cannot transcribe language '" + o.language + "'");
  }
  if (!(o.temperature >= 0.0f && o.temperature <= 1.0f)) bad("Expected temperature between 0 and 1");
  if (!(o.temperature_increment >= 0.0f && o.temperature_increment <= 1.0f)) bad("Expected temperature increment between 0 and 1");
  if (o.beam_size < 1 || o.beam_size > kMaxDecoders) bad("Expected beam size between 1 and " + std::to_string(kMaxDecoders));
  if (o.best_of < 1 || o.best_of > kMaxDecoders) bad("Expected best-of between 1 and " + std::to_string(kMaxDecoders));
  if (o.threads < 0 || o.threads > kMaxThreads) bad("Expected threads between 1 and " + std::to_string(kMaxThreads));
  if (o.initial_prompt.size() > kMaxPromptBytes) bad("The initial prompt is longer than " + std::to_string(kMaxPromptBytes) + " bytes");
}

TranscribeResult run_transcription(Context &context, whisper_state *state, const std::vector<float> &pcm,
                                   const TranscribeOptions &o, int default_threads, const std::atomic<bool> &cancelled,
                                   const TranscribeHooks &hooks) {
  // NaN or infinite samples poison the spectrogram; refuse them rather than decode noise.
  for (float sample : pcm) {
    if (!std::isfinite(sample)) bad("The audio contains NaN or infinite samples");
  }

  RunProbe probe;
  probe.cancelled = &cancelled;
  probe.started = Clock::now();
  probe.hooks = &hooks;
  probe.ctx = context.raw();
  probe.options = &o;
  const double duration_ms = 1000.0 * static_cast<double>(pcm.size()) / kSampleRate;
  probe.clip_end_ms = static_cast<int64_t>(duration_ms);

  const bool beam = o.beam_size > 1;
  whisper_full_params params = whisper_full_default_params(beam ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
  params.n_threads = o.threads > 0 ? o.threads : default_threads;
  params.translate = o.translate;
  params.no_context = true;  // requests are independent: no text carried over between them
  // Word times need segment timestamps too: the token times are placed between them.
  params.no_timestamps = !o.timestamps && !o.word_timestamps;
  params.token_timestamps = o.word_timestamps;
  params.print_special = params.print_progress = params.print_realtime = params.print_timestamps = false;
  const bool detect = o.language.empty() || o.language == "auto";
  // An English-only model has no language tokens: "detecting" on it reads garbage, so say "en".
  params.language = detect && context.info().multilingual ? "auto" : (detect ? "en" : o.language.c_str());
  params.initial_prompt = o.initial_prompt.empty() ? nullptr : o.initial_prompt.c_str();
  params.temperature = o.temperature;
  params.temperature_inc = o.temperature_increment;
  params.greedy.best_of = o.best_of;
  params.beam_search.beam_size = o.beam_size;
  params.abort_callback = on_abort_check;
  params.abort_callback_user_data = &probe;
  params.encoder_begin_callback = on_encoder_begin;
  params.encoder_begin_callback_user_data = &probe;
  params.logits_filter_callback = on_logits;
  params.logits_filter_callback_user_data = &probe;
  if (hooks.on_segment) {
    params.new_segment_callback = on_new_segments;
    params.new_segment_callback_user_data = &probe;
  }
  if (hooks.on_progress) {
    params.progress_callback = on_progress;
    params.progress_callback_user_data = &probe;
  }

  const int status = guard("whisper_full", [&] {
    return whisper_full_with_state(context.raw(), state, params, pcm.data(), static_cast<int>(pcm.size()));
  });
  if (cancelled.load()) throw CoreError(code::kAborted, "The transcription was aborted");
  if (status != 0) throw CoreError(code::kTranscriptionFailed, "whisper.cpp failed to transcribe (status " + std::to_string(status) + ")");

  TranscribeResult result;
  result.duration_ms = duration_ms;
  const int n = whisper_full_n_segments_from_state(state);
  result.segments.reserve(static_cast<size_t>(std::max(0, n)));
  for (int i = 0; i < n; ++i) result.segments.push_back(read_segment(context.raw(), state, i, o.word_timestamps, probe.clip_end_ms));
  // whisper.cpp reports progress as each window starts, so its last report may fall short of the end.
  if (hooks.on_progress && probe.last_progress < 100) hooks.on_progress(100);
  const int lang_id = whisper_full_lang_id_from_state(state);
  const char *lang = context.info().multilingual && lang_id >= 0 ? whisper_lang_str(lang_id) : nullptr;
  result.language = lang != nullptr ? lang : (detect ? "en" : o.language);

  const auto ended = Clock::now();
  if (probe.encoding) probe.encode_ms += ms_between(probe.encode_started, ended);
  result.timings.total_ms = ms_between(probe.started, ended);
  result.timings.mel_ms = probe.first_encode_seen ? probe.mel_ms : result.timings.total_ms;
  result.timings.encode_ms = probe.encode_ms;
  result.timings.decode_ms = std::max(0.0, result.timings.total_ms - result.timings.mel_ms - probe.encode_ms);
  return result;
}

}  // namespace talk2me
