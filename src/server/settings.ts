// Every setting of `talk2me serve`, once: its variable, its help line, its default and how its value
// is read. Parsing (readServerConfig), `talk2me serve --help` and the README's table test all read
// this table; each setting is an environment variable and a flag (the flag wins).
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ServerConfig, TrustProxy } from '../http/config.js';
import type { MemorySettings } from '../memory/settings.js';
import { TRIM_POLICIES } from '../model/host.js';
import { invalidValue, Talk2meError } from '../shared/errors.js';
import { hasControlCharacter, PATH_WITHOUT_CONTROLS } from '../shared/paths.js';

export class SettingsError extends Talk2meError<'INVALID_SETTING'> {
  constructor(message: string) {
    super('INVALID_SETTING', message);
  }
}

/** How one setting is read: `raw` is the variable's or the flag's text, undefined when not given. */
export interface SettingSpec<T = unknown> {
  env: string;
  help: string;
  /** The default as --help and the README show it. */
  shown: string;
  parse(raw: string | undefined): T;
}

/** The flag of a setting: HOST → --host, MAX_UPLOAD_MB → --max-upload-mb. */
export function flagOf(env: string): string {
  return env.toLowerCase().replace(/_/g, '-');
}

const label = (env: string): string => `${env} (--${flagOf(env)})`;
const given = (raw: string | undefined): raw is string => raw !== undefined && raw.trim() !== '';
const refuse = (env: string, expected: string, raw: string): SettingsError => new SettingsError(invalidValue(label(env), expected, raw));

type Value<T> = T | (() => T);
const valueOf = <T>(value: Value<T>): T => (typeof value === 'function' ? (value as () => T)() : value);

// The kinds of value a setting takes. Each returns the part of a spec that reads the value; the
// table adds the variable's name and help.
type Reader<T> = (env: string) => Pick<SettingSpec<T>, 'shown' | 'parse'>;

function numberIn(min: number, max: number, fallback: Value<number>, options: { integer?: boolean; shown?: string } = {}): Reader<number> {
  const integer = options.integer ?? true;
  return (env) => ({
    shown: options.shown ?? String(valueOf(fallback)),
    parse(raw) {
      if (!given(raw)) return valueOf(fallback);
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw refuse(env, `${integer ? 'an integer' : 'a number'} between ${min} and ${max}`, raw);
      }
      return n;
    },
  });
}

function text(fallback: Value<string>, shown?: string): Reader<string> {
  return () => ({ shown: shown ?? valueOf(fallback), parse: (raw) => (given(raw) ? raw.trim() : valueOf(fallback)) });
}

/** A file or directory path: text without control characters. */
function path(fallback: Value<string>, shown?: string): Reader<string> {
  return (env) => ({
    shown: shown ?? valueOf(fallback),
    parse(raw) {
      if (!given(raw)) return valueOf(fallback);
      if (hasControlCharacter(raw)) throw new SettingsError(`Expected ${PATH_WITHOUT_CONTROLS} for ${label(env)} but received a value with one`);
      return raw.trim();
    },
  });
}

/** A secret or other text that is off when empty; kept as given (spaces included). */
function optionalText(check?: (env: string, raw: string) => void): Reader<string | null> {
  return (env) => ({
    shown: 'unset',
    parse(raw) {
      if (raw === undefined || raw.length === 0) return null;
      check?.(env, raw);
      return raw;
    },
  });
}

function oneOf<T extends string>(values: readonly T[], fallback: T): Reader<T> {
  return (env) => ({
    shown: fallback,
    parse(raw) {
      if (!given(raw)) return fallback;
      const value = raw.trim();
      if (!(values as readonly string[]).includes(value)) throw refuse(env, values.join(', '), raw);
      return value as T;
    },
  });
}

function flag(fallback: boolean): Reader<boolean> {
  return (env) => ({
    shown: String(fallback),
    parse(raw) {
      if (!given(raw)) return fallback;
      const value = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(value)) return true;
      if (['0', 'false', 'no', 'off'].includes(value)) return false;
      throw refuse(env, 'true or false', raw);
    },
  });
}

// A CIDR or plain address, as Fastify (proxy-addr) takes them; checked here so a typo is a
// settings error naming the variable rather than a throw from deep inside Fastify.
function isAddressOrCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || !address || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

const trustProxy: Reader<TrustProxy> = (env) => ({
  shown: 'false',
  parse(raw) {
    const value = raw?.trim() ?? '';
    if (value === '' || value === 'false' || value === '0') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return numberIn(1, 32, 0)(env).parse(value);
    const addresses = value.split(',').map((part) => part.trim());
    if (addresses.some((part) => !isAddressOrCidr(part))) throw refuse(env, 'true, false, a hop count or comma-separated IP addresses/CIDRs', value);
    return addresses;
  },
});

const logFile: Reader<string | null> = (env) => {
  const file = path(join('logs', 'talk2me.log'))(env);
  return { shown: file.shown, parse: (raw) => (given(raw) && ['off', 'none', 'false'].includes(raw.trim().toLowerCase()) ? null : file.parse(raw)) };
};

// A host name, an IPv4 address or a bracketed IPv6 address, with an optional port: what a Host header holds.
const HOST_ENTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const allowedHosts: Reader<string[]> = (env) => ({
  shown: 'unset',
  parse(raw) {
    if (!given(raw)) return [];
    const entries = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
    if (entries.includes('*')) return ['*'];
    const bad = entries.find((entry) => !HOST_ENTRY.test(entry));
    if (bad !== undefined) throw refuse(env, 'comma-separated host names (optionally with :port) or *', bad);
    return entries;
  },
});

const threadsOrShared: Reader<number | null> = (env) => ({
  shown: 'shared',
  parse: (raw) => (given(raw) ? numberIn(1, 256, 1)(env).parse(raw) : null),
});

// An origin as browsers send it: scheme, host and an optional port, nothing after.
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const corsOrigins: Reader<string[]> = (env) => ({
  shown: 'unset',
  parse(raw) {
    if (!given(raw)) return [];
    const entries = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
    if (entries.includes('*')) return ['*'];
    const bad = entries.find((entry) => !isOrigin(entry));
    if (bad !== undefined) throw refuse(env, 'comma-separated origins such as https://app.example.com, or *', bad);
    return entries;
  },
});

function adminTokenLongEnough(env: string, raw: string): void {
  if (raw.length < 16) throw new SettingsError(`Expected ${env} to be at least 16 characters: a short token can be guessed`);
}

/**
 * Whisper states (transcriptions at once): one per core, up to 4. Threads are not fixed by
 * default: the admission queue gives a lone transcription every core and shares them out when
 * several start together (the measurements behind both are in bench/RESULTS.md, bench:http).
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores));
}

/**
 * Decodes at once: half the cores, and at least two, so one slow or hostile upload cannot hold
 * every decode up while it runs to DECODE_TIMEOUT_S. Each decode is one thread at low priority.
 */
export function defaultDecodeConcurrency(cores = availableParallelism()): number {
  return Math.max(2, Math.floor(cores / 2));
}

/** The threads all transcriptions share when WHISPER_THREADS is not set. */
export function threadBudget(cores = availableParallelism()): number {
  return Math.max(1, cores);
}

export const DEFAULT_MODEL_PATH = join('models', 'ggml-tiny.en.bin');

export function defaultUploadDir(): string {
  return join(tmpdir(), 'talk2me-uploads');
}

// A default that follows another setting, filled in by readMemorySettings once both are read.
const DERIVED = 0;
// How many sessions' worth one client address may use: a few tabs or API workers, not an unbounded number.
const ADDRESS_SHARE = 4;

type Table<T> = { [K in keyof T]: { env: string; help: string; read: Reader<T[K]> } };
type ServerFields = Omit<ServerConfig, 'memory'>;

const SERVER: Table<ServerFields> = {
  host: { env: 'HOST', help: 'address to listen on', read: text('127.0.0.1') },
  port: { env: 'PORT', help: 'port to listen on', read: numberIn(0, 65535, 5005) },
  modelPath: { env: 'WHISPER_MODEL', help: 'whisper.cpp ggml model; the default is downloaded on first run', read: path(DEFAULT_MODEL_PATH) },
  logFile: { env: 'LOG_FILE', help: 'log file (pino JSON lines), besides stdout; off: stdout only', read: logFile },
  logFileMaxMb: { env: 'LOG_FILE_MAX_MB', help: 'the log file is rotated at this size', read: numberIn(1, 1 << 20, 50) },
  logFileKeep: { env: 'LOG_FILE_KEEP', help: 'rotated log files kept (LOG_FILE.1 is the newest)', read: numberIn(0, 1000, 5) },
  logLevel: { env: 'LOG_LEVEL', help: 'trace, debug, info, warn, error', read: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info') },
  whisperThreads: { env: 'WHISPER_THREADS', help: 'threads per transcription; unset: a lone one gets every core, several share them', read: threadsOrShared },
  maxConcurrency: { env: 'MAX_CONCURRENCY', help: 'transcriptions in parallel (whisper states)', read: numberIn(1, 64, () => defaultConcurrency(), { shown: 'min(4, cores)' }) },
  maxQueue: { env: 'MAX_QUEUE', help: 'transcriptions waiting before 503', read: numberIn(0, 10_000, 16) },
  maxUploadMb: { env: 'MAX_UPLOAD_MB', help: 'largest upload (413 above)', read: numberIn(1, 4096, 25) },
  maxAudioS: { env: 'MAX_AUDIO_S', help: 'longest audio (413 above)', read: numberIn(1, 4 * 3600, 1800) },
  requestTimeoutS: { env: 'REQUEST_TIMEOUT_S', help: 'a transcription request is cut off after this plus REQUEST_TIMEOUT_PER_AUDIO_S per second of its audio (504)', read: numberIn(1, 86_400, 300) },
  requestTimeoutPerAudioS: {
    env: 'REQUEST_TIMEOUT_PER_AUDIO_S',
    help: "seconds each second of decoded audio adds to a request's time limit: the slowest real-time factor to wait for",
    read: numberIn(0, 1000, 1, { integer: false }),
  },
  ffmpegPath: { env: 'FFMPEG_PATH', help: 'ffmpeg executable for uploads that are not plain WAV (looked up on PATH)', read: text('ffmpeg') },
  decodeConcurrency: {
    env: 'DECODE_CONCURRENCY',
    help: 'uploads decoded at once, apart from the transcriptions (one low-priority thread each); MAX_QUEUE more wait, then 503',
    read: numberIn(1, 256, () => defaultDecodeConcurrency(), { shown: 'max(2, cores/2)' }),
  },
  decodeTimeoutS: { env: 'DECODE_TIMEOUT_S', help: 'a decode running longer is stopped and its ffmpeg killed (422 AUDIO_DECODER_FAILED)', read: numberIn(1, 3600, 60) },
  shutdownTimeoutS: { env: 'SHUTDOWN_TIMEOUT_S', help: 'how long shutdown waits for in-flight work', read: numberIn(0, 3600, 30) },
  readyDrainS: {
    env: 'READY_DRAIN_S',
    help: 'seconds /ready answers 503 before the listener closes at shutdown and before a model reload, while work is still served, so a load balancer checking /ready moves new work elsewhere first; 0: none',
    read: numberIn(0, 600, 0, { integer: false }),
  },
  adminToken: { env: 'ADMIN_TOKEN', help: 'token for /admin/* (X-Admin-Token); unset: admin routes answer 404', read: optionalText(adminTokenLongEnough) },
  metricsToken: { env: 'METRICS_TOKEN', help: 'bearer token for /metrics; unset: open', read: optionalText() },
  apiKey: { env: 'API_KEY', help: 'bearer key the transcription and model routes require (Authorization: Bearer KEY); unset: open', read: optionalText(adminTokenLongEnough) },
  corsOrigins: { env: 'CORS_ORIGINS', help: 'origins (comma-separated, or *) whose pages may call the API; unset: no CORS', read: corsOrigins },
  trustProxy: {
    env: 'TRUST_PROXY',
    help: 'behind a reverse proxy: its addresses/CIDRs (comma-separated), a hop count or true; the client address then comes from X-Forwarded-For',
    read: trustProxy,
  },
  webRoot: { env: 'WEB_ROOT', help: 'directory of the browser client served at /', read: path(join('web', 'dist')) },
  allowedHosts: {
    env: 'ALLOWED_HOSTS',
    help: 'Host names requests may use besides localhost (comma-separated, optionally :port); checked when bound to loopback or when set (421 otherwise); * turns the check off',
    read: allowedHosts,
  },
};

const MEMORY: Table<MemorySettings> = {
  memoryThresholdMb: { env: 'MEMORY_THRESHOLD_MB', help: 'RSS above which memory is trimmed, then the model reloaded', read: numberIn(64, 1 << 24, 4096, { integer: false }) },
  gpuMemoryThresholdMb: { env: 'GPU_MEMORY_THRESHOLD_MB', help: 'GPU memory in use above which the same happens', read: numberIn(64, 1 << 24, 2048, { integer: false }) },
  cleanupIntervalS: { env: 'CLEANUP_INTERVAL_S', help: 'seconds between memory checks', read: numberIn(1, 86_400, 30, { integer: false }) },
  statsLogIntervalS: { env: 'STATS_LOG_INTERVAL_S', help: 'seconds between "Memory stats" log lines', read: numberIn(1, 86_400, 300, { integer: false }) },
  tempFileMaxAgeS: { env: 'TEMP_FILE_MAX_AGE_S', help: 'temp uploads older than this are removed', read: numberIn(1, 7 * 86_400, 300, { integer: false }) },
  tempFileMaxAgeAggressiveS: { env: 'TEMP_FILE_MAX_AGE_AGGRESSIVE_S', help: 'the same under memory pressure', read: numberIn(1, 7 * 86_400, 60, { integer: false }) },
  modelReloadMinIntervalS: { env: 'MODEL_RELOAD_MIN_INTERVAL_S', help: 'least time between automatic model reloads', read: numberIn(0, 7 * 86_400, 300, { integer: false }) },
  modelIdleUnloadS: { env: 'MODEL_IDLE_UNLOAD_S', help: 'unload the model after this long without work; 0 never', read: numberIn(0, 30 * 86_400, 0, { integer: false }) },
  trimAfterTranscription: { env: 'TRIM_AFTER_TRANSCRIPTION', help: 'free whisper states after a transcription: never, idle, always', read: oneOf(TRIM_POLICIES, 'never') },
  gpuGrowthMb: { env: 'GPU_GROWTH_MB', help: 'GPU growth above the post-load baseline that counts as fragmentation', read: numberIn(1, 1 << 24, 256, { integer: false }) },
  gpuGrowthChecks: { env: 'GPU_GROWTH_CHECKS', help: 'checks in a row of such growth before a reload', read: numberIn(1, 1000, 3) },
  uploadDir: { env: 'UPLOAD_DIR', help: 'where uploads are staged (owned by talk2me)', read: path(defaultUploadDir, '$TMPDIR/talk2me-uploads') },
  sessionMaxConcurrent: { env: 'SESSION_MAX_CONCURRENT', help: 'concurrent requests per session; more wait their turn', read: numberIn(1, 1000, 2) },
  sessionMaxQueued: { env: 'SESSION_MAX_QUEUED', help: 'requests of one session waiting for a slot (429 with Retry-After above)', read: numberIn(0, 1000, 8) },
  sessionMaxTempMb: { env: 'SESSION_MAX_TEMP_MB', help: 'upload bytes in flight per session', read: numberIn(1, 1 << 20, 100, { integer: false }) },
  sessionMax: { env: 'SESSION_MAX', help: 'sessions at once', read: numberIn(1, 1_000_000, 1000) },
  sessionIdleTimeoutS: { env: 'SESSION_IDLE_TIMEOUT_S', help: 'a session idle this long is released', read: numberIn(1, 30 * 86_400, 1800, { integer: false }) },
  sessionMaxPerAddress: { env: 'SESSION_MAX_PER_ADDRESS', help: 'sessions per client address; a new one replaces its least recently used idle one', read: numberIn(1, 1_000_000, 16) },
  addressMaxConcurrent: {
    env: 'ADDRESS_MAX_CONCURRENT',
    help: 'concurrent requests per client address, whatever sessions they name (429 above)',
    read: numberIn(1, 100_000, DERIVED, { shown: `${ADDRESS_SHARE} × SESSION_MAX_CONCURRENT` }),
  },
  addressMaxTempMb: {
    env: 'ADDRESS_MAX_TEMP_MB',
    help: 'upload bytes in flight per client address, whatever sessions they name',
    read: numberIn(1, 1 << 24, DERIVED, { integer: false, shown: `${ADDRESS_SHARE} × SESSION_MAX_TEMP_MB` }),
  },
  uploadMaxStagedMb: { env: 'UPLOAD_MAX_STAGED_MB', help: 'upload bytes staged in UPLOAD_DIR by all requests together (507 above)', read: numberIn(1, 1 << 24, 1024, { integer: false }) },
  uploadMinFreeMb: { env: 'UPLOAD_MIN_FREE_MB', help: 'free space to keep on the file system of UPLOAD_DIR; below it uploads are refused (507)', read: numberIn(0, 1 << 30, 256, { integer: false }) },
  uploadStallTimeoutS: { env: 'UPLOAD_STALL_TIMEOUT_S', help: 'an upload that sends nothing for this long is cut off (408)', read: numberIn(1, 3600, 30, { integer: false }) },
  predictiveAdmission: {
    env: 'PREDICTIVE_ADMISSION',
    help: 'start a transcription that needs a new whisper state only if RSS (and GPU memory) plus what a state costs stays under the thresholds; otherwise it waits for a running one to end, or gets 503 MEMORY_PRESSURE when none runs',
    read: flag(true),
  },
  debugMemory: { env: 'DEBUG_MEMORY', help: 'log every memory check', read: flag(false) },
};

function specs<T>(table: Table<T>): Array<SettingSpec & { key: keyof T }> {
  return (Object.keys(table) as Array<keyof T>).map((key) => {
    const { env, help, read } = table[key];
    return { key, env, help, ...read(env) };
  });
}

export const SERVER_SETTINGS = specs(SERVER);
export const MEMORY_SETTINGS = specs(MEMORY);
export const ALL_SETTINGS: readonly SettingSpec[] = [...SERVER_SETTINGS, ...MEMORY_SETTINGS];

function readTable<T>(table: ReadonlyArray<SettingSpec & { key: keyof T }>, env: NodeJS.ProcessEnv): T {
  return Object.fromEntries(table.map((spec) => [spec.key, spec.parse(env[spec.env])])) as T;
}

/** The memory manager's settings from the environment; a bad value is a SettingsError naming it. */
export function readMemorySettings(env: NodeJS.ProcessEnv = process.env): MemorySettings {
  const settings = readTable<MemorySettings>(MEMORY_SETTINGS, env);
  if (settings.addressMaxConcurrent === DERIVED) settings.addressMaxConcurrent = ADDRESS_SHARE * settings.sessionMaxConcurrent;
  if (settings.addressMaxTempMb === DERIVED) settings.addressMaxTempMb = ADDRESS_SHARE * settings.sessionMaxTempMb;
  if (settings.tempFileMaxAgeAggressiveS > settings.tempFileMaxAgeS) {
    throw new SettingsError(
      `Expected TEMP_FILE_MAX_AGE_AGGRESSIVE_S (${settings.tempFileMaxAgeAggressiveS}) to be at most TEMP_FILE_MAX_AGE_S (${settings.tempFileMaxAgeS})`,
    );
  }
  return settings;
}

/** The documented defaults (no environment). */
export function defaultMemorySettings(): MemorySettings {
  return readMemorySettings({});
}

/** Reads the configuration from the environment, with `flags` (setting name → value) taking precedence. */
export function readServerConfig(env: NodeJS.ProcessEnv = process.env, flags: Record<string, string> = {}): ServerConfig {
  const merged: NodeJS.ProcessEnv = { ...env, ...flags };
  return { ...readTable<ServerFields>(SERVER_SETTINGS, merged), memory: readMemorySettings(merged) };
}
