/**
 * Errors of the http layer that are not an HTTP status: a response cache backend that cannot
 * be used, TLS files that cannot be read, and a response header `node:http` would refuse.
 * Each has a stable code for logs and tests.
 */

/**
 * Stable codes:
 * - `WASIO_ERR_CACHE_UNAVAILABLE`: the shared response cache (Redis) cannot be reached or did
 *   not answer in time; requests are served without it until it is back. Logged once per
 *   outage, never sent to a client;
 * - `WASIO_ERR_CACHE_ENTRY`: an entry read from the shared cache is not one WASIO wrote (another
 *   program used the key prefix, or a newer format); it is treated as a miss;
 * - `WASIO_ERR_TLS_FILES`: the certificate or key named by `tls` (or `--tls-cert`/`--tls-key`)
 *   cannot be read or do not make a usable pair; the server does not start;
 * - `WASIO_ERR_INVALID_RESPONSE_HEADER`: a response header whose name or value `node:http`
 *   would refuse, found by the HTTP front before anything is written; the request is answered
 *   500, as it is when `node:http` refuses one.
 */
export type HttpErrorCode = 'WASIO_ERR_CACHE_UNAVAILABLE' | 'WASIO_ERR_CACHE_ENTRY' | 'WASIO_ERR_TLS_FILES' | 'WASIO_ERR_INVALID_RESPONSE_HEADER';

/** Base class of the http layer's errors. */
export class HttpLayerError extends Error {
  override readonly name: string = 'HttpLayerError';
  constructor(readonly code: HttpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** An entry in the shared cache that cannot be decoded; the message says what is wrong with it. */
export class CacheEntryError extends HttpLayerError {
  override readonly name = 'CacheEntryError';
  declare readonly code: 'WASIO_ERR_CACHE_ENTRY';
  constructor(message: string) {
    super('WASIO_ERR_CACHE_ENTRY', message);
  }
}

/** A response header `node:http` would refuse; `header` names it. */
export class InvalidResponseHeaderError extends HttpLayerError {
  override readonly name = 'InvalidResponseHeaderError';
  declare readonly code: 'WASIO_ERR_INVALID_RESPONSE_HEADER';
  constructor(readonly header: string) {
    super('WASIO_ERR_INVALID_RESPONSE_HEADER', `invalid response header ${JSON.stringify(header)}`);
  }
}

/** TLS files that cannot be used; the message names the file and the reason. */
export class TlsFilesError extends HttpLayerError {
  override readonly name = 'TlsFilesError';
  declare readonly code: 'WASIO_ERR_TLS_FILES';
  constructor(message: string, options?: ErrorOptions) {
    super('WASIO_ERR_TLS_FILES', message, options);
  }
}
