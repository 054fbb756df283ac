// How temporary upload files are named: `<prefix><pid>-<16 hex digits>[.<ext>]`. The pid says which
// process owns a file, so a new process can tell a dead predecessor's leftovers from a live
// neighbour's; the random part makes names unguessable; a client never chooses any part of it.
import { randomBytes } from 'node:crypto';
import { invalidValue } from '../../shared/errors.js';

export const DEFAULT_TEMP_PREFIX = 'talk2me-';

// Ends with a non-digit so that `<prefix><pid>` splits one way only ("a1" + "23" vs "a" + "123").
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{0,31}[A-Za-z_-]$/;
const REST_PATTERN = /^([1-9][0-9]{0,9})-([0-9a-f]{16})(\.[a-z0-9]{1,8})?$/;
const EXT_PATTERN = /^[a-z0-9]{1,8}$/;
const MAX_PID = 2 ** 31 - 1;

export interface TempName {
  pid: number;
  random: string;
  /** With its dot, or '' for none. */
  ext: string;
}

export function assertTempPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new RangeError(invalidValue('the temp file prefix', '1 to 32 characters from [A-Za-z0-9_-], not ending in a digit', prefix));
  }
}

/**
 * '.wav', 'wav' and 'WAV' become '.wav'; anything else that is not 1 to 8 of [a-z0-9] (a client's
 * '../../x', 'tar.gz', '') becomes no extension at all rather than a mangled one.
 */
export function sanitiseExtension(ext: string | undefined): string {
  if (ext === undefined) return '';
  const bare = ext.toLowerCase().replace(/^\./, '');
  return EXT_PATTERN.test(bare) ? `.${bare}` : '';
}

// Random bytes drawn 128 names at a time: one getrandom call costs about as much as 8 names.
const POOL_BYTES = 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex8(): string {
  if (poolOffset + 8 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + 8);
  poolOffset += 8;
  return hex;
}

export function makeTempName(prefix: string, pid: number, ext?: string): string {
  return `${prefix}${pid}-${randomHex8()}${sanitiseExtension(ext)}`;
}

/** The parts of a name this scheme made with `prefix`, or undefined for any other name. */
export function parseTempName(prefix: string, name: string): TempName | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const match = REST_PATTERN.exec(name.slice(prefix.length));
  if (!match) return undefined;
  const pid = Number(match[1]);
  if (pid > MAX_PID) return undefined;
  return { pid, random: match[2] as string, ext: match[3] ?? '' };
}
