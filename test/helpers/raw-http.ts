/**
 * HTTP/1.1 spoken byte for byte over a TCP socket, for tests that send what no HTTP client
 * would (pipelined, malformed or hostile requests) and read exactly what came back.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface Exchange {
  /** Everything received, as latin1 text. */
  readonly received: string;
  /** The server closed the connection (rather than going quiet). */
  readonly closed: boolean;
}

export interface ExchangeOptions {
  /** Pause between the parts sent. */
  readonly pauseMs?: number;
  /** By part: the responses that must have come before it is sent (none when absent). */
  readonly answeredBefore?: readonly number[];
  /** Half-close the connection once everything is sent. */
  readonly end?: boolean;
  /**
   * How long the server may stay quiet, once everything is sent (and `responses` have come),
   * before the exchange ends.
   */
  readonly quietMs?: number;
  /** Responses to wait for, however long they take (within `timeoutMs`), before the quiet counts. */
  readonly responses?: number;
  /** Which of those responses answer a HEAD (no body), in order, to tell where each ends. */
  readonly headRequests?: readonly boolean[];
  /** The longest the whole exchange may take. */
  readonly timeoutMs?: number;
}

/** Opens a connection to `port` on 127.0.0.1. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Sends `parts` to 127.0.0.1:`port` one write each, and reads until the server closes the
 * connection or says nothing for `quietMs` after the last part.
 */
export async function exchange(port: number, parts: readonly (string | Buffer)[], options: ExchangeOptions = {}): Promise<Exchange> {
  const { pauseMs = 30, end = false, quietMs = 300, timeoutMs = 5_000, responses = 0, headRequests = [], answeredBefore = [] } = options;
  const deadline = Date.now() + timeoutMs;
  const socket = await openSocket(port);
  const chunks: Buffer[] = [];
  let closed = false;
  let lastActivity = Date.now();
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    lastActivity = Date.now();
  });
  socket.on('error', () => {});
  const closedNow = new Promise<void>((resolve) => socket.once('close', () => {
    closed = true;
    resolve();
  }));
  const answeredCount = (): number => completeResponses(Buffer.concat(chunks).toString('latin1'), headRequests);
  for (const [index, part] of parts.entries()) {
    if (index > 0) await delay(pauseMs);
    while (answeredCount() < (answeredBefore[index] ?? 0) && !closed && Date.now() < deadline) await Promise.race([closedNow, delay(10)]);
    socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
  }
  if (end) socket.end();
  lastActivity = Date.now();
  const answered = (): boolean => responses === 0 || answeredCount() >= responses;
  while (!closed && Date.now() < deadline && (!answered() || Date.now() - lastActivity < quietMs)) {
    await Promise.race([closedNow, delay(20)]);
  }
  socket.destroy();
  return { received: Buffer.concat(chunks).toString('latin1'), closed };
}

/** One response read from an exchange. */
export interface RawResponse {
  readonly statusLine: string;
  /** Header lines as sent, in order. */
  readonly headerLines: readonly string[];
  readonly body: string;
}

/** How many whole responses `received` holds, framed as `splitResponses` frames them. */
function completeResponses(received: string, headRequests: readonly boolean[]): number {
  try {
    return splitResponses(received, headRequests, true).length;
  } catch {
    return 0;
  }
}

/**
 * Splits received text into responses, framed by `Content-Length` (no length: the body runs
 * to the end). `headRequests` lists, in order, which responses answer a HEAD (no body).
 * `wholeOnly`: a response not yet fully received is left out rather than cut short.
 */
export function splitResponses(received: string, headRequests: readonly boolean[] = [], wholeOnly = false): RawResponse[] {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < received.length) {
    const headEnd = received.indexOf('\r\n\r\n', at);
    if (headEnd === -1 && wholeOnly) break;
    if (headEnd === -1) throw new Error(`unframed bytes after ${responses.length} responses: ${JSON.stringify(received.slice(at))}`);
    const [statusLine = '', ...headerLines] = received.slice(at, headEnd).split('\r\n');
    const lengthLine = headerLines.find((line) => /^content-length:/i.test(line));
    const status = Number(statusLine.split(' ')[1]);
    const bodiless = headRequests[responses.length] === true || status === 304 || status === 204 || status < 200;
    const bodyStart = headEnd + 4;
    const bodyEnd = bodiless ? bodyStart : lengthLine === undefined ? received.length : bodyStart + Number(lengthLine.split(':')[1]);
    if (wholeOnly && (bodyEnd > received.length || (lengthLine === undefined && !bodiless))) break;
    responses.push({ statusLine, headerLines, body: received.slice(bodyStart, bodyEnd) });
    at = bodyEnd;
  }
  return responses;
}
