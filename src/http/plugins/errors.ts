// One error shape for the whole API: `{ error: { code, message, type, param } }`, 404s included, and also for
// what Fastify and Node refuse before a route runs (a URL that does not decode, a request line or
// headers that do not parse, headers too large, a client too slow to send its headers).
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

import { errorBody, type ErrorBody, mapError } from '../errors.js';
import { REQUEST_ID_HEADER } from '../request-id.js';
import { SECURITY_HEADERS } from '../security-headers.js';

function sendMapped(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = mapError(err);
  if (mapped.internal) request.log.error({ err }, 'Request failed');
  else {
    // A 503 or 507 tells the client little on purpose (no server paths): the operator reads why here.
    const cause = mapped.statusCode >= 500 && err instanceof Error ? err.cause : undefined;
    request.log.info({ code: mapped.body.error.code, statusCode: mapped.statusCode, ...(cause !== undefined && { err: cause }) }, mapped.body.error.message);
  }
  if (reply.sent || reply.raw.destroyed) return;
  void reply.code(mapped.statusCode).headers(mapped.headers).send(mapped.body);
}

/** Fastify's frameworkErrors option: router errors (a URL that does not decode) that skip the error handler. */
export function frameworkErrorHandler(err: Error, request: FastifyRequest, reply: FastifyReply): void {
  // Its reply runs none of the app's hooks, so the headers every response carries are set here.
  void reply.headers(SECURITY_HEADERS).header(REQUEST_ID_HEADER, request.id);
  sendMapped(err, request, reply);
}

// What Node's parser refused, by its error code: the status and the code the client reads.
function clientErrorOf(code: string | undefined): { status: number; reason: string; body: ErrorBody } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, reason: 'Request Timeout', body: errorBody(408, 'CLIENT_TIMEOUT', 'The request was not received in time') };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, reason: 'Request Header Fields Too Large', body: errorBody(431, 'HEADERS_TOO_LARGE', 'The request headers are too large') };
  }
  const detail = code?.startsWith('HPE_') ? ` (${code.slice(4).toLowerCase().replace(/_/g, ' ')})` : '';
  return { status: 400, reason: 'Bad Request', body: errorBody(400, 'MALFORMED_REQUEST', `The request is not valid HTTP/1.1${detail}`) };
}

/** How long an answer to a refused connection may take to reach a client that does not read it. */
const CLIENT_ERROR_FLUSH_MS = 10_000;

/**
 * Fastify's clientErrorHandler: Node's 'clientError', raised before there is a request object, so
 * the answer is written on the socket by hand, in the API's shape and with the headers every
 * response carries. The connection is closed after it (the socket destroyed, not only ended):
 * the parser cannot tell where the next request would begin.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset peer has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, reason, body } = clientErrorOf(err.code);
  const requestId = randomUUID();
  this.log.info({ reqId: requestId, code: err.code, statusCode: status }, body.error.message);
  if (socket.writable) {
    const payload = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(payload)),
      connection: 'close',
      [REQUEST_ID_HEADER]: requestId,
      ...SECURITY_HEADERS,
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    // end() closes only our side, and the socket lives on while the other side stays open: a
    // client that keeps its connection, or one whose close is never read because nobody reads the
    // request (a body waiting for a session slot when the request timeout strikes), would hold
    // the socket, its request and its handler for good. So it goes once the answer is out, and
    // after a while if the client does not even read the answer.
    const abandon = setTimeout(() => socket.destroy(), CLIENT_ERROR_FLUSH_MS);
    abandon.unref();
    socket.once('close', () => clearTimeout(abandon));
    socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n${payload}`, () => socket.destroy());
  } else {
    socket.destroy(err);
  }
}

export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err, request, reply) => sendMapped(err, request, reply));
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send(errorBody(404, 'NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
    });
  },
  { name: 'talk2me-errors' },
);
