/**
 * Reading a request body with a limit: refused from `Content-Length` before a byte is read
 * when it declares too much, and stopped as soon as the bytes received pass the limit, so the
 * server never holds more than `limit` bytes of one body.
 */
import type { Readable } from 'node:stream';

/** A body over its route's `max_body_bytes`; Fastify answers it with its `statusCode`. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly statusCode = 413;
  readonly code = 'WASIO_ERR_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body exceeds the limit of ${limit} bytes`);
  }
}

/** Collects `stream` into one buffer, or rejects with `BodyTooLargeError` past `limit` bytes. */
export function readLimitedBody(stream: Readable, contentLength: string | undefined, limit: number): Promise<Uint8Array> {
  if (contentLength !== undefined && Number(contentLength) > limit) {
    stream.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.byteLength;
      if (received > limit) {
        stream.off('data', onData);
        stream.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)));
    stream.once('error', reject);
  });
}
