// What the HTTP service is configured with. The values are read and checked above http, from the
// one settings table (src/server/settings.ts).
import type { MemorySettings } from '../memory/settings.js';

export interface ServerConfig {
  host: string;
  port: number;
  /** The model file; the default path is downloaded on first run when missing. */
  modelPath: string;
  /** null: stdout only (containers). */
  logFile: string | null;
  logFileMaxMb: number;
  logFileKeep: number;
  logLevel: string;
  /** Threads for every transcription; null: the cores are shared among those running (see AdmissionQueue). */
  whisperThreads: number | null;
  maxConcurrency: number;
  maxQueue: number;
  maxUploadMb: number;
  maxAudioS: number;
  /** A request's time limit before its audio is decoded... */
  requestTimeoutS: number;
  /** ...and what each second of decoded audio adds to it. */
  requestTimeoutPerAudioS: number;
  /** The ffmpeg executable for non-WAV uploads. */
  ffmpegPath: string;
  /** Uploads decoded at once, apart from the transcriptions. */
  decodeConcurrency: number;
  /** A decode running longer is stopped (its ffmpeg killed). */
  decodeTimeoutS: number;
  shutdownTimeoutS: number;
  /**
   * How long /ready answers 503 before the server stops taking work (the listener closes, the
   * model is swapped) while it still serves, so a load balancer has taken it out of rotation first.
   */
  readyDrainS: number;
  adminToken: string | null;
  metricsToken: string | null;
  webRoot: string;
  /** Host names (optionally with a port) answered besides loopback ones when bound to loopback; ["*"]: any. */
  allowedHosts: string[];
  /** Bearer key the transcription and model routes require (OpenAI clients send it); null: open. */
  apiKey: string | null;
  /** Origins whose pages may call the API from a browser; ['*'] any; empty: no CORS. */
  corsOrigins: string[];
  /** Fastify's trustProxy: whom to believe about the client's address (X-Forwarded-For). */
  trustProxy: TrustProxy;
  memory: MemorySettings;
}

/** false: the socket's peer is the client; true: any proxy; a number: that many hops; else the proxies' addresses. */
export type TrustProxy = boolean | number | string[];
