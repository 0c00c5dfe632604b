/**
 * Errors of the protocol layer, each with a stable code. Both are somebody else's fault, not
 * the server's: a request the server cannot turn into the guest's input (the client's), or
 * output the server cannot turn into a response (the module's). Messages say what is wrong
 * precisely enough to fix it, and are safe to send to the client.
 */

/**
 * Stable codes:
 * - `WASIO_ERR_MULTIPART`: a `multipart/form-data` body that cannot be parsed (no boundary,
 *   no closing delimiter, a part without a header block); answered with 400;
 * - `WASIO_ERR_CGI_OUTPUT`: a CGI module's output without a usable header block; answered
 *   with 502.
 */
export type ProtocolErrorCode = 'WASIO_ERR_MULTIPART' | 'WASIO_ERR_CGI_OUTPUT';

/** Base class of the protocol layer's errors. */
export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError';
  constructor(readonly code: ProtocolErrorCode, message: string) {
    super(message);
  }
}

/** A `multipart/form-data` request body that cannot be parsed: the client's mistake, a 400. */
export class MultipartError extends ProtocolError {
  override readonly name = 'MultipartError';
  declare readonly code: 'WASIO_ERR_MULTIPART';
  constructor(message: string) {
    super('WASIO_ERR_MULTIPART', `invalid multipart/form-data body: ${message}`);
  }
}

/** A CGI header block that cannot be used; the message says what is wrong, for the log and the 502. */
export class CgiOutputError extends ProtocolError {
  override readonly name = 'CgiOutputError';
  declare readonly code: 'WASIO_ERR_CGI_OUTPUT';
  constructor(message: string) {
    super('WASIO_ERR_CGI_OUTPUT', message);
  }
}
