/**
 * HTTPS: the certificate and key files named by the config (or `--tls-cert`/`--tls-key`),
 * read and checked when the server is made, so a wrong file stops the start with a message
 * that names it instead of failing every handshake later.
 */
import { createSecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TlsConfig } from '../config/index.js';
import { TlsFilesError } from './errors.js';

/** The PEM contents of a certificate chain and its private key. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsFilesError(`the TLS ${what} ${path} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Reads the files of `tls` and checks that they make a usable pair.
 *
 * @throws {TlsFilesError} `WASIO_ERR_TLS_FILES` when a file cannot be read, is not PEM, or
 *   the key does not belong to the certificate.
 */
export function readTlsFiles(tls: TlsConfig): TlsMaterial {
  const material = { cert: readPem(tls.cert, 'certificate'), key: readPem(tls.key, 'key') };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new TlsFilesError(`the TLS certificate ${tls.cert} and key ${tls.key} cannot be used: ${(error as Error).message}`, { cause: error });
  }
  return material;
}
