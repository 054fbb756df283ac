// Run by child-process.test.ts as its own Node process: starts `sleep 60` through spawnPiped, prints
// the child's pid, and waits to be killed.
import { spawnPiped } from '../../../src/native/child-process.js';

const child = spawnPiped('sleep', ['60']);
process.stdout.write(`${child.pid}\n`);
setInterval(() => undefined, 60_000);
