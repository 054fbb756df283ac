#pragma once
// Errors that cross the core's boundary carry a stable code the TypeScript side can branch on.
#include <stdexcept>
#include <string>

namespace talk2me {

namespace code {
inline constexpr const char *kModelNotFound = "MODEL_NOT_FOUND";
inline constexpr const char *kModelUnreadable = "MODEL_UNREADABLE";
inline constexpr const char *kModelInvalid = "MODEL_INVALID";
inline constexpr const char *kModelLoadFailed = "MODEL_LOAD_FAILED";
inline constexpr const char *kStateInitFailed = "STATE_INIT_FAILED";
inline constexpr const char *kInvalidArgument = "INVALID_ARGUMENT";
inline constexpr const char *kTranscriptionFailed = "TRANSCRIPTION_FAILED";
inline constexpr const char *kAborted = "ABORTED";
inline constexpr const char *kDisposed = "MODEL_DISPOSED";
inline constexpr const char *kOutOfMemory = "OUT_OF_MEMORY";
inline constexpr const char *kInternal = "INTERNAL_ERROR";
}  // namespace code

class CoreError : public std::runtime_error {
 public:
  CoreError(std::string code, const std::string &message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string &code() const { return code_; }

 private:
  std::string code_;
};

// Runs `fn`, turning every exception whisper.cpp or the standard library may throw into a CoreError,
// so callers at the boundary only ever see one type.
template <typename Fn>
auto guard(const char *what, Fn &&fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const CoreError &) {
    throw;
  } catch (const std::bad_alloc &) {
    throw CoreError(code::kOutOfMemory, std::string(what) + ": out of memory");
  } catch (const std::exception &e) {
    throw CoreError(code::kInternal, std::string(what) + ": " + e.what());
  } catch (...) {
    throw CoreError(code::kInternal, std::string(what) + ": unknown C++ exception");
  }
}

}  // namespace talk2me
