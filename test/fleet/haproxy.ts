// HAProxy in front of the talk2me instances: its configuration, and its runtime API (the stats
// socket) to read what it thinks of each server.
import { connect } from 'node:net';

export interface Backend {
  name: string;
  port: number;
}

/**
 * Health checks: GET /ready every 200 ms, down after 2 failures, up after 2 successes, so an
 * instance that turns not-ready is out of rotation within about half a second; READY_DRAIN_S on
 * the instances must cover that. A production setting would be slower (inter 2s fall 3: 6 s).
 *
 * No `on-marked-down shutdown-sessions`: it would cut the transcriptions still running on an
 * instance that drains, which is exactly what the drain lets finish.
 *
 * Retries: a refused connection (an instance being restarted) is retried on another server
 * (`retries`, `option redispatch`); those never reached a server. Requests that were sent are not
 * replayed: an upload of real audio is larger than HAProxy's buffer, so it could not be (see
 * `retry-on` in HAProxy's manual), and 0 failures must come from the instances leaving rotation
 * before they stop taking work, not from replays.
 */
export function haproxyConfig(options: { port: number; statsSocket: string; backends: Backend[] }): string {
  return `global
  stats socket ${options.statsSocket} mode 600 level admin
  nbthread 1

defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 1s
  retries 3
  option redispatch 1

frontend talk2me
  bind 127.0.0.1:${options.port}
  default_backend talk2me

backend talk2me
  # A transcription holds its instance for a while: send the next one to the least busy.
  balance leastconn
  option httpchk GET /ready
  http-check expect status 200
  default-server check inter 200ms fastinter 100ms downinter 200ms fall 2 rise 2
${options.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port}`).join('\n')}
`;
}

/** One command on HAProxy's runtime API; the answer as text. */
export function runtimeCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
    socket.setTimeout(2000, () => socket.destroy(new Error(`HAProxy runtime API: no answer to "${command}"`)));
  });
}

export interface ServerStat {
  /** UP, DOWN, "UP 1/2" (up, one check failed), "DOWN 1/2" (down, one check passed), MAINT, ... */
  status: string;
  /** Sessions (requests here: no keep-alive to clients) this server took in total. */
  stot: number;
  /** Times it went from UP to DOWN. */
  chkdown: number;
  /** 2xx answers it gave. */
  hrsp2xx: number;
}

/** `show stat` for the servers of `backend`, by server name. */
export async function serverStats(socketPath: string, backend: string): Promise<Map<string, ServerStat>> {
  const csv = await runtimeCommand(socketPath, 'show stat');
  const lines = csv.trim().split('\n');
  const header = lines[0]!.replace(/^# /, '').split(',');
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`HAProxy's show stat has no ${name} column: ${lines[0]}`);
    return index;
  };
  const [px, sv, status, stot, chkdown, hrsp2xx] = ['pxname', 'svname', 'status', 'stot', 'chkdown', 'hrsp_2xx'].map(column) as [number, number, number, number, number, number];
  const stats = new Map<string, ServerStat>();
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    if (fields[px] !== backend || fields[sv] === 'BACKEND' || fields[sv] === 'FRONTEND') continue;
    stats.set(fields[sv]!, { status: fields[status]!, stot: Number(fields[stot]), chkdown: Number(fields[chkdown]), hrsp2xx: Number(fields[hrsp2xx]) });
  }
  return stats;
}
