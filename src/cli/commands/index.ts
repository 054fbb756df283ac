// Every command with its one-line summary, and a loader for its code. The entry point imports only
// the command it runs: `talk2me transcribe` never loads the server's Fastify, pino and prom-client
// (hundreds of CommonJS modules, most of the CLI's start-up: bench:cli in bench/RESULTS.md), and
// `--help` lists the commands without loading any of them.
import type { Command } from '../args.js';

export interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

export const TOP_COMMANDS: Record<'serve' | 'transcribe' | 'soak', CommandEntry> = {
  serve: { summary: 'run the speech-to-text server', load: async () => (await import('./serve.js')).serveCommand },
  transcribe: { summary: 'transcribe an audio file', load: async () => (await import('./transcribe.js')).transcribeCommand },
  soak: { summary: 'send a long run of good and bad requests and report what the server keeps', load: async () => (await import('./soak.js')).soakCommand },
};

/** `talk2me model <name>`. */
export const MODEL_COMMANDS: Record<'synth' | 'fetch', CommandEntry> = {
  synth: { summary: 'write a synthetic model for offline tests and benchmarks', load: async () => (await import('./model-synth.js')).modelSynthCommand },
  fetch: { summary: 'download a whisper.cpp model', load: async () => (await import('./model-fetch.js')).modelFetchCommand },
};
