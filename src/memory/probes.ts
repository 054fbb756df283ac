// Readings the memory manager acts on. Injected, so the ladder's policy can be tested with
// simulated figures (a GPU whose memory keeps growing) on a machine without a GPU.
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';

export interface ProcessReading {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

export interface SystemReading {
  totalBytes: number;
  availableBytes: number;
}

export interface GpuReading {
  usedBytes: number;
  totalBytes: number;
  device: number;
  name: string;
}

export interface MemoryProbes {
  process(): ProcessReading;
  system(): SystemReading;
}

/** MemAvailable from /proc/meminfo: what can be allocated without swapping (page cache counts as free). */
function memAvailable(): number | null {
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export const realProbes: MemoryProbes = {
  process() {
    const m = process.memoryUsage();
    return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external };
  },
  system() {
    // os.freemem() is MemFree, which leaves out the page cache and so overstates how full memory is.
    return { totalBytes: totalmem(), availableBytes: memAvailable() ?? freemem() };
  },
};
