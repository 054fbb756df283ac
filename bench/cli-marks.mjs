// Loaded by bench/cli.ts into the talk2me CLI's process with NODE_OPTIONS=--import (so that it also
// reaches the process npx starts). At exit it appends one JSON line to the file named by
// TALK2ME_CLI_MARKS: Node's own start-up milestones, the CLI's `talk2me:` performance marks, the
// exit time, and how many CommonJS modules were loaded (fastify, pino, prom-client are CommonJS:
// the count shows whether they were pulled in). npm's own process, when run through npx, writes
// nothing. It only runs in the timed "split" runs, never in the runs
// whose wall time is compared.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.TALK2ME_CLI_MARKS;
if (file) {
  process.on('exit', () => {
    const exitMs = performance.now();
    const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('talk2me:'));
    if (/np[mx]-cli\.js$/.test(process.argv[1] ?? '')) return;
    const timing = performance.nodeTiming;
    const cjsModules = Object.keys(createRequire(import.meta.url).cache);
    const line = {
      // Epoch milliseconds of this process's start: the parent compares it with when it spawned.
      timeOrigin: performance.timeOrigin,
      bootstrapCompleteMs: timing.bootstrapComplete,
      marks: Object.fromEntries(marks.map((m) => [m.name.slice('talk2me:'.length), m.startTime])),
      exitMs,
      cjsModules: cjsModules.length,
      cjsPackages: [...new Set(cjsModules.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean))].sort(),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
