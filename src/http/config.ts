// What the HTTP service is configured with. The values are read and checked above http, from the
// one settings table (src/server/settings.ts).
import type { MemorySettings } from '../memory/settings.js';

export interface ServerConfig {
  host: string;
  port: number;
  /** The model file; the default path is downloaded on first run when missing. */
  modelPath: string;
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
  /** Host names (optionally with a port) answered besides loopback ones when bound to loopback; ["*"]: any. */
  allowedHosts: string[];
  /** Fastify's trustProxy: whom to believe about the client's address (X-Forwarded-For). */
  trustProxy: TrustProxy;
  memory: MemorySettings;
}

/** false: the socket's peer is the client; true: any proxy; a number: that many hops; else the proxies' addresses. */
export type TrustProxy = boolean | number | string[];
