// What Node refuses before a request exists (a timeout, a request that does not parse) is answered
// by clientErrorHandler on the bare socket. Its connection must go once the answer is out, even
// when the client keeps its side open and nobody reads the socket: a `talk2me soak` run found such
// sockets held for good, each with its request and handler, after the request timeout struck
// requests whose bodies waited for a session slot.
import { createServer, connect, type Server, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { clientErrorHandler } from '../../src/http/plugins/errors.js';

const quiet = { log: { info: () => undefined } } as unknown as ThisParameterType<typeof clientErrorHandler>;

let server: Server | undefined;
let client: Socket | undefined;

afterEach(() => {
  client?.destroy();
  server?.close();
});

/** A server socket refused the way Node's request timeout refuses one, and the client that keeps its connection. */
async function refusedConnection(): Promise<{ serverSide: Socket; answer: Promise<string> }> {
  let serverSide: Socket | undefined;
  const accepted = new Promise<void>((resolve) => {
    server = createServer({ allowHalfOpen: true }, (socket) => {
      serverSide = socket;
      socket.pause(); // a request body nobody reads, as when it waits for a session slot
      resolve();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server?.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let received = '';
  const answer = new Promise<string>((resolve) => {
    client = connect(port, '127.0.0.1', () => client?.write('POST /transcribe HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npart of a body'));
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    client.on('end', () => resolve(received)); // the server's side ended; ours stays open
  });
  await accepted;
  return { serverSide: serverSide as Socket, answer };
}

describe('clientErrorHandler', () => {
  it('answers 408 in the API shape and then closes the socket, though the client keeps its side open', async () => {
    const { serverSide, answer } = await refusedConnection();
    const closed = new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
    clientErrorHandler.call(quiet, Object.assign(new Error('timed out'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), serverSide);
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toContain('"code":"CLIENT_TIMEOUT"');
    await closed;
    expect(serverSide.destroyed).toBe(true);
    expect(client?.destroyed).toBe(false); // the client did nothing to help
  }, 10_000);
});
