#pragma once
// Starting a child process without fork().
//
// A fork() copies the parent's page tables and marks every writable page copy-on-write, so the
// whisper state buffers the next transcription writes each take a page fault, which slows that
// transcription down (bench/RESULTS.md, bench:spawn-cost). Node's child_process forks.
// vfork (CLONE_VM | CLONE_VFORK, what glibc's posix_spawn uses too) instead: the child borrows the
// parent's memory until it execs, and nothing in the parent becomes copy-on-write. Unlike
// posix_spawn it lets the child ask for SIGKILL when its parent dies, so an ffmpeg never outlives a
// killed server.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace talk2me {

namespace code {
inline constexpr const char *kSpawnFailed = "SPAWN_FAILED";
}  // namespace code

struct SpawnedProcess {
  pid_t pid;
  // The read ends of the child's stdout and stderr pipes (close-on-exec); the caller owns them.
  int stdout_fd;
  int stderr_fd;
};

// Runs `file` (looked up on PATH unless it holds a slash) with `args` after argv[0], the
// environment of this process, stdin from /dev/null, stdout and stderr into new pipes, the signal
// mask emptied and every signal at its default (Node ignores SIGPIPE, which would otherwise carry
// over the exec), and SIGKILL as its parent-death signal. Call it from the thread whose end should
// end the child: the kernel sends that signal when the creating *thread* exits (the addon calls it
// on the JavaScript main thread). Throws CoreError(SPAWN_FAILED) when the program cannot be started.
SpawnedProcess spawn_piped(const std::string &file, const std::vector<std::string> &args);

struct ExitStatus {
  // The exit code, or -1 when a signal ended the process.
  int code;
  // The signal that ended the process, or 0.
  int signal;
};

// Collects the exit status of a child started by spawn_piped without waiting: nullopt while it
// runs. Throws CoreError(SPAWN_FAILED) for a pid that is not a child of this process.
std::optional<ExitStatus> try_reap(pid_t pid);

}  // namespace talk2me
