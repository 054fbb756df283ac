#include "process_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "error.h"

extern char **environ;

namespace talk2me {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

void close_pair(int fds[2]) {
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  fds[0] = fds[1] = -1;
}

// Where execve tries the program, in order: the name itself when it holds a slash, else each
// directory of PATH (the system's default path when PATH is unset), as posix_spawnp and execvp do.
// Built before the child exists, because the child must not allocate.
std::vector<std::string> program_candidates(const std::string &file) {
  if (file.find('/') != std::string::npos) return {file};
  const char *env_path = std::getenv("PATH");
  std::string path = env_path != nullptr ? env_path : "/bin:/usr/bin";
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    out.push_back(dir + "/" + file);
    start = end + 1;
  }
  return out;
}

// Everything the child needs, prepared by the parent: the child only reads it.
struct ChildPlan {
  const char *const *candidates;
  size_t n_candidates;
  char *const *argv;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  pid_t parent;
  // The child writes why it could not exec here; the parent reads it once the child has exec'd or
  // exited (vfork shares the memory and suspends the parent until then).
  volatile int *exec_errno;
};

// Puts `fd` on `target` for the program to inherit. dup2 clears close-on-exec on the copy; when
// `fd` already is `target` there is no copy, so clear it by hand.
bool place_fd(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0) == 0;
  return dup2(fd, target) == target;
}

// Runs in the vfork child, on the parent's memory: only async-signal-safe calls, no allocation, no
// return (the parent's stack frame must survive). Ends in execve or _exit.
[[noreturn]] void become_program(const ChildPlan &plan) {
  // Signals stay blocked (the parent blocked them all before vfork) until no handler of the parent
  // is left: one running here would run on the parent's memory. Every disposition goes back to the
  // default, as posix_spawn's POSIX_SPAWN_SETSIGDEF does (Node ignores SIGPIPE, which an exec would
  // otherwise carry over).
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // EINVAL for libc's own: fine
  }
  // Die with the server: the kernel sends SIGKILL to this process when the thread that created it
  // exits. spawn_piped is called on the JavaScript main thread (spawn_bridge is synchronous), whose
  // end is the process's end. If the parent died before prctl took effect, nobody would send it:
  // getppid() then no longer names the parent, and the child gives up.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != plan.parent) {
    *plan.exec_errno = ESRCH;
    _exit(127);
  }
  if (!place_fd(plan.stdin_fd, STDIN_FILENO) || !place_fd(plan.stdout_fd, STDOUT_FILENO) || !place_fd(plan.stderr_fd, STDERR_FILENO)) {
    *plan.exec_errno = errno;
    _exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  int failure = ENOENT;
  bool denied = false;
  for (size_t i = 0; i < plan.n_candidates; ++i) {
    execve(plan.candidates[i], plan.argv, environ);
    failure = errno;
    if (failure == EACCES) denied = true;
    // Look further along PATH only for "not here"; anything else is this program's own failure.
    if (failure != ENOENT && failure != ENOTDIR && failure != EACCES) break;
  }
  // As execvp: a program found but not executable is reported as such, not as "not found".
  *plan.exec_errno = denied && (failure == ENOENT || failure == ENOTDIR) ? EACCES : failure;
  _exit(127);
}

// Blocks every signal on the calling thread for the length of a scope (and so in a vfork child).
class BlockAllSignals {
 public:
  BlockAllSignals() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous_);
  }
  ~BlockAllSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockAllSignals(const BlockAllSignals &) = delete;
  BlockAllSignals &operator=(const BlockAllSignals &) = delete;

 private:
  sigset_t previous_;
};

void wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
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
  const std::vector<std::string> candidates = program_candidates(file);
  std::vector<const char *> candidate_ptrs;
  candidate_ptrs.reserve(candidates.size());
  for (const std::string &c : candidates) candidate_ptrs.push_back(c.c_str());

  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close_pair(out);
    close_pair(err);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": cannot create a pipe: " + errno_text(e));
  }
  // Opened here rather than in the child, close-on-exec like the pipes: the child keeps only what
  // lands on 0, 1 and 2.
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    const int e = errno;
    close_pair(out);
    close_pair(err);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": cannot open /dev/null: " + errno_text(e));
  }

  volatile int exec_errno = 0;
  const ChildPlan plan{candidate_ptrs.data(), candidate_ptrs.size(), argv.data(), devnull, out[1], err[1], getpid(), &exec_errno};
  pid_t pid;
  int vfork_errno = 0;
  {
    BlockAllSignals blocked;
    // vfork, not fork: the child borrows this process's memory until it execs, so no page here
    // becomes copy-on-write (see process_spawn.h); this thread waits meanwhile. posix_spawn does the
    // same but can run nothing of ours in the child, and the child must set its parent-death signal.
    pid = vfork();
    if (pid == 0) become_program(plan);
    vfork_errno = errno;
  }
  close(devnull);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": " + errno_text(vfork_errno));
  }
  if (exec_errno != 0) {
    const int e = exec_errno;
    wait_for(pid);  // it has exited already (127): collect it
    close(out[0]);
    close(err[0]);
    throw CoreError(code::kSpawnFailed, "spawn " + file + ": " + errno_text(e));
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
