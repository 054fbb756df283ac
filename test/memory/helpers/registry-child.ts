// A child process for the temp-file tests, run with `node --import tsx`: opens the real registry on
// the directory given, writes three registered files, installs exit cleanup as `mode` says, prints
// one READY line with its pid and paths, then does what `mode` names:
//   hold     stay alive (the parent sends a signal, or SIGKILL)
//   exit     let the event loop run empty: a normal exit
//   throw    throw from a timer: an uncaught exception
//   reject   leave a rejected promise unhandled
//   handoff  stay alive with `onSignal` given: the caller takes the shutdown over, then exits 0
//   stall    the same, but the caller's shutdown never ends (a request that does not drain)
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

import type { Logger } from '../../../src/shared/logger.js';
import { installExitCleanup } from '../../../src/server/index.js';
import { TempFileRegistry } from '../../../src/memory/temp-files/index.js';

const [dir, mode] = process.argv.slice(2);
if (dir === undefined || mode === undefined) throw new Error('usage: registry-child.ts DIR MODE');

// JSON lines on stderr, so the parent can check what was logged.
const line = (level: string) => (obj: object, msg?: string) => {
  const err = (obj as { err?: unknown }).err;
  const fields = err instanceof Error ? { ...obj, err: err.message } : obj;
  process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
};
const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };

const registry = await TempFileRegistry.open({ dir, logger });
const paths: string[] = [];
for (const ext of ['webm', 'wav', undefined]) {
  const path = registry.createPath({ ext, owner: 'child-session' });
  await writeFile(path, Buffer.alloc(1000, 1), { flag: 'wx' });
  registry.setSize(path, 1000);
  paths.push(path);
}

installExitCleanup(registry, {
  logger,
  onSignal:
    mode === 'handoff' || mode === 'stall'
      ? async (signal) => {
          // A server would drain its requests here; their files must still be there.
          process.stdout.write(`HANDOFF ${JSON.stringify({ signal, stillThere: paths.every((p) => existsSync(p)) })}\n`);
          if (mode === 'stall') return;
          await registry.close();
          process.exit(0);
        }
      : undefined,
});

process.stdout.write(`READY ${JSON.stringify({ pid: process.pid, paths, startupSweep: registry.startupSweep })}\n`);

if (mode === 'hold' || mode === 'handoff' || mode === 'stall') {
  setInterval(() => {}, 60_000);
} else if (mode === 'throw') {
  setTimeout(() => {
    throw new Error('boom from the child');
  }, 10);
} else if (mode === 'reject') {
  setTimeout(() => {
    void Promise.reject(new Error('rejected in the child'));
  }, 10);
} else if (mode !== 'exit') {
  throw new Error(`unknown mode ${mode}`);
}
