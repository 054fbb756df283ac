#pragma once
// Fault injection for tests: named sites where the code can be made to throw as if memory ran out
// or a library failed. Compiled into every build and inert until a test arms a site; an armed site
// fires once and disarms itself, so the test can check the process and the model afterwards.
#include <string>

namespace talk2me {

enum class FaultKind { BadAlloc, RuntimeError };

// Arms `site` to throw `kind` the next time execution passes it. Replaces any armed fault.
void arm_fault(const std::string &site, FaultKind kind);
// Disarms whatever is armed.
void disarm_faults();
// Throws the armed fault if `site` is armed (then disarms it); otherwise does nothing.
void fault_point(const char *site);

}  // namespace talk2me
