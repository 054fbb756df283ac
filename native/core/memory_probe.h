#pragma once
// What the process holds, and the lever that hands freed heap back to the system.
#include <cstdint>

namespace talk2me {

// Resident set size of this process in bytes (0 where the platform does not say).
uint64_t process_rss_bytes();

// Returns free heap pages to the system (glibc malloc_trim(0)). Freed memory otherwise stays in
// glibc's arenas and RSS never comes down. Returns false where there is no such call.
bool release_free_heap();

// Makes glibc serve large blocks (>= 128 KiB: whisper's buffers) with mmap for good, so freeing
// them hands the pages straight back. glibc otherwise raises its mmap threshold each time such a
// block is freed, after which they come from the heap, stay there, and later allocations slow down.
void pin_mmap_threshold();

}  // namespace talk2me
