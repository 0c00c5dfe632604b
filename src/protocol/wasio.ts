/**
 * The `wasio` guest protocol: the request goes to stdin as one JSON object, a superset of the
 * Go version's `{"params", "seed"}`; stdout comes back as the body of a 200 response.
 */
import { randomFillSync } from 'node:crypto';
import { parseQuery, type InstrumentRequest } from './request.js';
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

function isFormBody(request: InstrumentRequest): boolean {
  const type = request.headers['content-type'];
  return type !== undefined && type.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

function decodeText(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/**
 * The JSON document an instrument reads on stdin. `seed` is written as an exact integer,
 * which `JSON.stringify` cannot do for a BigInt, so it is spliced in as text.
 */
export function encodeWasioPayload(request: InstrumentRequest, seed: bigint): Uint8Array {
  const query = parseQuery(request.rawQuery);
  const params: Record<string, string> = {};
  for (const [key, values] of query) params[key] = values[0] as string;
  const text = request.body.byteLength > 0 ? decodeText(request.body) : '';
  if (text !== undefined && text !== '' && isFormBody(request)) {
    for (const [key, value] of new URLSearchParams(text)) params[key] = value;
  }
  const payload: Record<string, unknown> = {
    params,
    method: request.method,
    path: request.path,
    route: request.route,
    query: Object.fromEntries(query),
    path_params: request.pathParams,
    headers: request.headers,
  };
  if (text === undefined) payload['body_base64'] = Buffer.from(request.body).toString('base64');
  else payload['body'] = text;
  const json = JSON.stringify(payload);
  return encoder.encode(`{"seed":${seed.toString()},${json.slice(1)}`);
}

/** Content-Type of an instrument's output: the route's, else sniffed as Go would. */
export function wasioContentType(body: Uint8Array, configured: string | undefined): string {
  return configured ?? detectContentType(body);
}
