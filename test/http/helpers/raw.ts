// Raw HTTP over node:net, for what a well-behaved client library cannot send: a broken request
// line, oversized headers, Transfer-Encoding with Content-Length, a body that stops.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server had closed the connection when the answer was read. */
  closed: boolean;
}

export function parseAnswer(text: string, closed: boolean): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`Expected an HTTP response but received ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4), closed };
}

/** Opens a connection to `url`'s host and port. */
export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `request` and resolves with what came back once the server closes the connection or `waitMs` passes. */
export async function rawRequest(url: string, request: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  const socket = await openSocket(url);
  return readAnswer(socket, waitMs, () => socket.write(request));
}

/** Whether `text` holds a whole response with a Content-Length, so there is nothing left to wait for. */
function complete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1];
  return length !== undefined && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length);
}

/** Reads from `socket` until a whole response arrived, the server closes it or `waitMs` passes, after running `start`. */
export function readAnswer(socket: Socket, waitMs: number, start: () => void = () => undefined): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let text = '';
    let settled = false;
    const timer = setTimeout(() => {
      socket.destroy();
      finish(false);
    }, waitMs);
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        resolve(parseAnswer(text, closed));
      } catch (err) {
        reject(err);
      }
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (complete(text)) finish(socket.readableEnded);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    start();
  });
}
