// Memory probes whose RSS a test sets, handed to a real server's services: memory pressure and a
// full memory without filling the machine's. Everything else is the process's real reading.
import type { MemoryProbes } from '../../../src/memory/probes.js';
import { realProbes } from '../../../src/memory/probes.js';
import { send } from './client.js';

const MB = 1024 * 1024;

export class SimulatedMemory implements MemoryProbes {
  /** RSS the memory manager reads, in MB; null for the real figure. */
  rssMb: number | null = null;

  process() {
    const real = realProbes.process();
    return this.rssMb === null ? real : { ...real, rssBytes: Math.round(this.rssMb * MB) };
  }

  system() {
    return realProbes.system();
  }
}

/** One series of GET /metrics (open: no METRICS_TOKEN), or undefined when absent. */
export async function metric(url: string, series: string): Promise<number | undefined> {
  const text = (await send(`${url}/metrics`).answer).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
