#include "boundary.h"

#include <new>
#include <stdexcept>

#include "error.h"
#include "promise_worker.h"

namespace talk2me::addon {

void describe_current_exception(std::string &code, std::string &message) noexcept {
  // Assigning a string can itself run out of memory: fall back to literals that need no allocation.
  try {
    try {
      throw;
    } catch (const CoreError &e) {
      code = e.code();
      message = e.what();
    } catch (const Napi::Error &e) {
      code = code::kInternal;
      message = e.Message();
    } catch (const std::bad_alloc &) {
      code = code::kOutOfMemory;
      message = "Out of memory";
    } catch (const std::exception &e) {
      code = code::kInternal;
      message = e.what();
    } catch (...) {
      code = code::kInternal;
      message = "Unknown native error";
    }
  } catch (...) {
    code.clear();
    message.clear();
  }
}

void rethrow_as_js(Napi::Env env) {
  try {
    throw;
  } catch (const Napi::Error &) {
    throw;  // already a JavaScript error (a TypeError for a bad argument, one with a code)
  } catch (...) {
    std::string code;
    std::string message;
    describe_current_exception(code, message);
    if (code.empty()) throw Napi::Error::New(env, "Out of memory");
    throw make_error(env, code, message);
  }
}

}  // namespace talk2me::addon
