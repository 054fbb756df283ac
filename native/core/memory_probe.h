#pragma once
// What the process holds, and the lever that hands freed heap back to the system.
#include <cstdint>

namespace talk2me {

// Resident set size of this process in bytes (0 where the platform does not say).
uint64_t process_rss_bytes();

// Returns free heap pages to the system (glibc malloc_trim(0)). Freed memory otherwise stays in
// glibc's arenas and RSS never comes down. Returns false where there is no such call.
bool release_free_heap();

}  // namespace talk2me
