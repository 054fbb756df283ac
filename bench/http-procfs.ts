/**
 * What bench/http.ts reads about a process and the machine from /proc (Linux): resident memory,
 * open file descriptors, CPU time, and the machine's total busy time, from which OtherCpu tells how
 * much CPU other people's jobs took while we measured.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** VmRSS of a process, in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Entries in /proc/PID/fd: every open file, socket, pipe and event fd of the process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What the open fds point at, by kind: socket, pipe, file, anon_inode:[eventfd], ... */
export function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    const kind = target.startsWith('socket:') ? 'socket' : target.startsWith('pipe:') ? 'pipe' : target.startsWith('/') ? 'file' : target;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/**
 * CPU time of a process in ms: user + system, plus that of its children it has waited for (ffmpeg
 * runs spawned by talk2me count as talk2me's).
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks * TICK_MS;
}

/** CPU time all processes have used since boot (ms): every /proc/stat column but idle and iowait. */
export function machineBusyMs(): number {
  const columns = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (columns[i] ?? 0), 0) * TICK_MS;
}

/** CPU that processes other than ours used between two readings. */
export class OtherCpu {
  #busy = 0;
  #ours = 0;
  constructor(private readonly pids: () => number[]) {
    this.reset();
  }

  #oursNow(): number {
    const self = process.cpuUsage();
    let ms = (self.user + self.system) / 1000;
    for (const pid of this.pids()) {
      try {
        ms += processCpuMs(pid);
      } catch {
        // gone
      }
    }
    return ms;
  }

  reset(): void {
    this.#busy = machineBusyMs();
    this.#ours = this.#oursNow();
  }

  /** Others' CPU time (ms) since the last reset. */
  read(): number {
    return Math.max(0, machineBusyMs() - this.#busy - (this.#oursNow() - this.#ours));
  }
}
