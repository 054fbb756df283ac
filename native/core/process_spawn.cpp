#include "process_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

extern char **environ;

namespace talk2me {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Owns the spawn attributes and file actions for the length of one call.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup &) = delete;
  SpawnSetup &operator=(const SpawnSetup &) = delete;

  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

void close_pair(int fds[2]) {
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  fds[0] = fds[1] = -1;
}

}  // namespace

SpawnedProcess spawn_piped(const std::string &file, const std::vector<std::string> &args) {
  if (file.empty() || file.find('\0') != std::string::npos) {
    throw CoreError(code::kSpawnFailed, "spawn: the program name is empty or holds a NUL character");
  }
  std::vector<char *> argv;
  argv.reserve(args.size() + 2);
  argv.push_back(const_cast<char *>(file.c_str()));
  for (const std::string &arg : args) {
    if (arg.find('\0') != std::string::npos) throw CoreError(code::kSpawnFailed, "spawn: an argument holds a NUL character");
    argv.push_back(const_cast<char *>(arg.c_str()));
  }
  argv.push_back(nullptr);

  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close_pair(out);
    close_pair(err);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": cannot create a pipe: " + errno_text(e));
  }

  SpawnSetup setup;
  // The write ends land on 1 and 2 (dup2 clears close-on-exec there); every pipe fd itself is
  // close-on-exec, so the child keeps none of them beyond its stdout and stderr.
  posix_spawn_file_actions_addopen(&setup.actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions_, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions_, err[1], STDERR_FILENO);
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&setup.attr_, &none);
  posix_spawnattr_setsigdefault(&setup.attr_, &all);
  posix_spawnattr_setflags(&setup.attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, file.c_str(), &setup.actions_, &setup.attr_, argv.data(), environ);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": " + errno_text(rc));
  }
  return SpawnedProcess{pid, out[0], err[0]};
}

std::optional<ExitStatus> try_reap(pid_t pid) {
  if (pid <= 0) throw CoreError(code::kSpawnFailed, "reap: not a process id");
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == 0) return std::nullopt;
  if (got < 0) throw CoreError(code::kSpawnFailed, "reap " + std::to_string(pid) + ": " + errno_text(errno));
  if (WIFSIGNALED(status)) return ExitStatus{-1, WTERMSIG(status)};
  return ExitStatus{WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0};
}

}  // namespace talk2me
