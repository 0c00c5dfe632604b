/**
 * The `wasio` guest protocol: the request goes to stdin as one JSON object, a superset of the
 * Go version's `{"params", "seed"}`; stdout comes back as the body of a 200 response.
 */
import { randomFillSync } from 'node:crypto';
import { parseMultipartForm, type FormFile } from './multipart.js';
import { parseMediaType, parseQuery, type InstrumentRequest } from './request.js';
import { detectContentType } from './sniff.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

const seedPool = new BigInt64Array(512);
let seedIndex = seedPool.length;

/** A fresh, cryptographically random signed 64-bit seed (drawn from the OS in batches). */
export function nextSeed(): bigint {
  if (seedIndex === seedPool.length) {
    randomFillSync(seedPool);
    seedIndex = 0;
  }
  return seedPool[seedIndex++] as bigint;
}

function decodeText(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/** A file of a `multipart/form-data` body as the payload's `files` array describes it. */
export interface WasioFile {
  readonly field: string;
  readonly filename: string;
  readonly content_type: string;
  readonly size: number;
}

/**
 * The form fields of the body, when it is a form: `application/x-www-form-urlencoded` (read
 * only when it is UTF-8, as a form always is) or `multipart/form-data`.
 */
function bodyForm(request: InstrumentRequest, text: string | undefined): { fields: Iterable<readonly [string, string]>; files: readonly FormFile[] } {
  const contentType = request.headers['content-type'];
  if (contentType === undefined || request.body.byteLength === 0) return { fields: [], files: [] };
  const { type } = parseMediaType(contentType);
  if (type === 'application/x-www-form-urlencoded' && text !== undefined) return { fields: new URLSearchParams(text), files: [] };
  if (type === 'multipart/form-data') return parseMultipartForm(request.body, contentType);
  return { fields: [], files: [] };
}

/**
 * The JSON document an instrument reads on stdin. `params` holds the first value of each
 * query parameter, overwritten by the body's form fields (text fields of a multipart body
 * included); `files` describes a multipart body's files (never their bytes, which stay in
 * `body`/`body_base64`). `seed` is written as an exact integer, which `JSON.stringify` cannot
 * do for a BigInt, so it is spliced in as text. Throws `MultipartError` for a multipart body
 * that cannot be parsed.
 */
export function encodeWasioPayload(request: InstrumentRequest, seed: bigint): Uint8Array {
  const query = parseQuery(request.rawQuery);
  const params: Record<string, string> = {};
  for (const [key, values] of query) params[key] = values[0] as string;
  const text = request.body.byteLength > 0 ? decodeText(request.body) : '';
  const form = bodyForm(request, text);
  for (const [key, value] of form.fields) params[key] = value;
  const files: WasioFile[] = form.files.map((file) => ({
    field: file.field, filename: file.filename, content_type: file.contentType, size: file.size,
  }));
  const payload: Record<string, unknown> = {
    params,
    method: request.method,
    path: request.path,
    route: request.route,
    query: Object.fromEntries(query),
    path_params: request.pathParams,
    headers: request.headers,
    files,
  };
  if (text === undefined) payload['body_base64'] = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('base64');
  else payload['body'] = text;
  const json = JSON.stringify(payload);
  return encoder.encode(`{"seed":${seed.toString()},${json.slice(1)}`);
}

/** Content-Type of an instrument's output: the route's, else sniffed as Go would. */
export function wasioContentType(body: Uint8Array, configured: string | undefined): string {
  return configured ?? detectContentType(body);
}
