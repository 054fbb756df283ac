// The server's settings: each one an environment variable and a `talk2me serve` flag (the flag
// wins). The memory manager's settings (src/memory/settings.ts) are read the same way, so every
// setting can be given either way and `talk2me serve --help` lists them all.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { readMemorySettings, SettingsError, type MemorySettings } from '../memory/settings.js';

export interface ServerConfig {
  host: string;
  port: number;
  modelPath: string;
  /** Download the default model when it is missing (only for the default path). */
  modelFetch: boolean;
  logFile: string;
  logLevel: string;
  /** Threads for every transcription; null: the cores are shared among those running (see AdmissionQueue). */
  whisperThreads: number | null;
  maxConcurrency: number;
  maxQueue: number;
  maxUploadMb: number;
  maxAudioS: number;
  requestTimeoutS: number;
  shutdownTimeoutS: number;
  adminToken: string | null;
  metricsToken: string | null;
  webRoot: string;
  /** Fastify's trustProxy: whom to believe about the client's address (X-Forwarded-For). */
  trustProxy: TrustProxy;
  memory: MemorySettings;
}

/** false: the socket's peer is the client; true: any proxy; a number: that many hops; else the proxies' addresses. */
export type TrustProxy = boolean | number | string[];

export interface SettingSpec {
  env: string;
  help: string;
  default: string;
}

export const DEFAULT_MODEL_PATH = join('models', 'ggml-tiny.en.bin');

/**
 * Whisper states (transcriptions at once): one per core, up to 4. Threads are not fixed by
 * default: the admission queue gives a lone transcription every core and shares them out when
 * several start together. Measured on 2 cores (bench:http, bench/RESULTS.md): one state with both
 * threads answers a lone request 1.7-1.8x sooner than two one-thread states, which serve 3-29%
 * more requests/s when 4 clients queue; shared cores answer a lone request like the first and
 * served 4 clients within the run-to-run noise of the second.
 */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores));
}

/** The threads all transcriptions share when WHISPER_THREADS is not set. */
export function threadBudget(cores = availableParallelism()): number {
  return Math.max(1, cores);
}

export const SERVER_SETTINGS: SettingSpec[] = [
  { env: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
  { env: 'PORT', help: 'port to listen on', default: '5005' },
  { env: 'WHISPER_MODEL', help: 'whisper.cpp ggml model; the default is downloaded on first run', default: DEFAULT_MODEL_PATH },
  { env: 'LOG_FILE', help: 'log file (pino JSON lines), besides stdout', default: join('logs', 'talk2me.log') },
  { env: 'LOG_LEVEL', help: 'trace, debug, info, warn, error', default: 'info' },
  { env: 'WHISPER_THREADS', help: 'threads per transcription; unset: a lone one gets every core, several share them', default: 'shared' },
  { env: 'MAX_CONCURRENCY', help: 'transcriptions in parallel (whisper states)', default: 'min(4, cores)' },
  { env: 'MAX_QUEUE', help: 'transcriptions waiting before 503', default: '16' },
  { env: 'MAX_UPLOAD_MB', help: 'largest upload (413 above)', default: '25' },
  { env: 'MAX_AUDIO_S', help: 'longest audio (413 above)', default: '1800' },
  { env: 'REQUEST_TIMEOUT_S', help: 'a transcription request is cut off after this (504)', default: '300' },
  { env: 'SHUTDOWN_TIMEOUT_S', help: 'how long shutdown waits for in-flight work', default: '30' },
  { env: 'ADMIN_TOKEN', help: 'token for /admin/* (X-Admin-Token); unset: admin routes answer 404', default: '' },
  { env: 'METRICS_TOKEN', help: 'bearer token for /metrics; unset: open', default: '' },
  { env: 'TRUST_PROXY', help: 'behind a reverse proxy: its addresses/CIDRs (comma-separated), a hop count or true; the client address then comes from X-Forwarded-For', default: 'false' },
  { env: 'WEB_ROOT', help: 'directory of the browser client served at /', default: join('web', 'dist') },
];

export const MEMORY_SETTINGS: SettingSpec[] = [
  { env: 'MEMORY_THRESHOLD_MB', help: 'RSS above which memory is trimmed, then the model reloaded', default: '4096' },
  { env: 'GPU_MEMORY_THRESHOLD_MB', help: 'GPU memory in use above which the same happens', default: '2048' },
  { env: 'CLEANUP_INTERVAL_S', help: 'seconds between memory checks', default: '30' },
  { env: 'STATS_LOG_INTERVAL_S', help: 'seconds between "Memory stats" log lines', default: '300' },
  { env: 'TEMP_FILE_MAX_AGE_S', help: 'temp uploads older than this are removed', default: '300' },
  { env: 'TEMP_FILE_MAX_AGE_AGGRESSIVE_S', help: 'the same under memory pressure', default: '60' },
  { env: 'MODEL_RELOAD_MIN_INTERVAL_S', help: 'least time between automatic model reloads', default: '300' },
  { env: 'MODEL_IDLE_UNLOAD_S', help: 'unload the model after this long without work; 0 never', default: '0' },
  { env: 'TRIM_AFTER_TRANSCRIPTION', help: 'free whisper states after a transcription: never, idle, always', default: 'never' },
  { env: 'GPU_GROWTH_MB', help: 'GPU growth above the post-load baseline that counts as fragmentation', default: '256' },
  { env: 'GPU_GROWTH_CHECKS', help: 'checks in a row of such growth before a reload', default: '3' },
  { env: 'UPLOAD_DIR', help: 'where uploads are staged (owned by talk2me)', default: '$TMPDIR/talk2me-uploads' },
  { env: 'SESSION_MAX_CONCURRENT', help: 'concurrent requests per session (429 above)', default: '2' },
  { env: 'SESSION_MAX_TEMP_MB', help: 'upload bytes in flight per session', default: '100' },
  { env: 'SESSION_MAX', help: 'sessions at once', default: '1000' },
  { env: 'SESSION_IDLE_TIMEOUT_S', help: 'a session idle this long is released', default: '1800' },
  { env: 'DEBUG_MEMORY', help: 'log every memory check', default: 'false' },
];

export const ALL_SETTINGS = [...SERVER_SETTINGS, ...MEMORY_SETTINGS];

/** The flag of a setting: HOST → --host, MAX_UPLOAD_MB → --max-upload-mb. */
export function flagOf(env: string): string {
  return env.toLowerCase().replace(/_/g, '-');
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`Expected an integer between ${min} and ${max} for ${name} (--${flagOf(name)}) but received "${raw}"`);
  }
  return n;
}

function text(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  return raw ? raw : fallback;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  return raw && raw.length > 0 ? raw : null;
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

function trustProxy(env: NodeJS.ProcessEnv): TrustProxy {
  const raw = env.TRUST_PROXY?.trim() ?? '';
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return int(env, 'TRUST_PROXY', 0, 1, 32);
  const addresses = raw.split(',').map((part) => part.trim());
  const bad = addresses.find((part) => !isAddressOrCidr(part));
  if (bad !== undefined) {
    throw new SettingsError(`Expected true, false, a hop count or comma-separated IP addresses/CIDRs for TRUST_PROXY (--trust-proxy) but received "${raw}"`);
  }
  return addresses;
}

/** Reads the configuration from the environment, with `flags` (setting name → value) taking precedence. */
export function readServerConfig(env: NodeJS.ProcessEnv = process.env, flags: Record<string, string> = {}): ServerConfig {
  const merged: NodeJS.ProcessEnv = { ...env, ...flags };
  const maxConcurrency = int(merged, 'MAX_CONCURRENCY', defaultConcurrency(), 1, 64);
  const logLevel = text(merged, 'LOG_LEVEL', 'info');
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new SettingsError(`Expected trace, debug, info, warn, error, fatal or silent for LOG_LEVEL (--log-level) but received "${logLevel}"`);
  }
  const adminToken = optional(merged, 'ADMIN_TOKEN');
  if (adminToken !== null && adminToken.length < 16) {
    throw new SettingsError('Expected ADMIN_TOKEN to be at least 16 characters: a short token can be guessed');
  }
  return {
    host: text(merged, 'HOST', '127.0.0.1'),
    port: int(merged, 'PORT', 5005, 0, 65535),
    modelPath: text(merged, 'WHISPER_MODEL', DEFAULT_MODEL_PATH),
    modelFetch: text(merged, 'WHISPER_MODEL', DEFAULT_MODEL_PATH) === DEFAULT_MODEL_PATH,
    logFile: text(merged, 'LOG_FILE', join('logs', 'talk2me.log')),
    logLevel,
    whisperThreads: merged.WHISPER_THREADS?.trim() ? int(merged, 'WHISPER_THREADS', 1, 1, 256) : null,
    maxConcurrency,
    maxQueue: int(merged, 'MAX_QUEUE', 16, 0, 10_000),
    maxUploadMb: int(merged, 'MAX_UPLOAD_MB', 25, 1, 4096),
    maxAudioS: int(merged, 'MAX_AUDIO_S', 1800, 1, 4 * 3600),
    requestTimeoutS: int(merged, 'REQUEST_TIMEOUT_S', 300, 1, 86_400),
    shutdownTimeoutS: int(merged, 'SHUTDOWN_TIMEOUT_S', 30, 0, 3600),
    adminToken,
    metricsToken: optional(merged, 'METRICS_TOKEN'),
    webRoot: text(merged, 'WEB_ROOT', join('web', 'dist')),
    trustProxy: trustProxy(merged),
    memory: readMemorySettings(merged),
  };
}
