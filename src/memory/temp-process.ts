/**
 * Whether a process with this pid exists, by sending it signal 0 (nothing is delivered): ESRCH
 * means it is gone; EPERM means it exists but belongs to another user. Any other answer counts as
 * alive, because a wrong "alive" only keeps a file until the next start, a wrong "dead" deletes a
 * live process's upload.
 */
export function isProcessAlive(pid: number): boolean {
  // pid 0 and negative pids address process groups: signalling them says nothing about one owner.
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new RangeError(`Expected a positive integer for pid but received ${String(pid)}`);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
