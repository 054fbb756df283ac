#pragma once
// Fault injection for tests: named sites where the code can be made to throw as if memory ran out
// or a library failed. Compiled into every build and inert until a test arms a site; an armed site
// fires once and disarms itself, so the test can check the process and the model afterwards.
#include <string>

namespace talk2me {

// Skip is the one fault that does not throw: the site's step is left out (fault_skips answers true),
// e.g. the model file check, so a test can hand whisper.cpp a file only whisper.cpp itself rejects.
enum class FaultKind { BadAlloc, RuntimeError, Skip };

// Arms `site` to throw `kind` the next time execution passes it. Replaces any armed fault.
void arm_fault(const std::string &site, FaultKind kind);
// Disarms whatever is armed.
void disarm_faults();
// Throws the armed fault if `site` is armed (then disarms it); otherwise does nothing.
void fault_point(const char *site);
// True (once) if `site` is armed with Skip.
bool fault_skips(const char *site);

}  // namespace talk2me
