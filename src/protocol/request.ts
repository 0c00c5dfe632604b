/**
 * A request as instruments see it, independent of the HTTP library that received it. The http
 * layer fills it in; the protocol encoders turn it into stdin, argv and environment.
 */
export interface InstrumentRequest {
  readonly method: string;
  /** The URL path, still percent-encoded, without the query. */
  readonly path: string;
  /** The raw query string, without `?` ('' when none). */
  readonly rawQuery: string;
  /** The route as written in the config, e.g. `/users/:id`. */
  readonly route: string;
  readonly pathParams: Readonly<Record<string, string>>;
  /** Header names in lower case; repeated headers joined with `, ` as HTTP allows. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** The client's address. */
  readonly remoteAddress: string;
  /** `1.1`, `1.0` or `2.0`. */
  readonly httpVersion: string;
  /** The request came over TLS. */
  readonly tls: boolean;
}

/** Query parameters with every value, in order. */
export function parseQuery(rawQuery: string): Map<string, string[]> {
  const query = new Map<string, string[]>();
  if (rawQuery === '') return query;
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const values = query.get(key);
    if (values === undefined) query.set(key, [value]);
    else values.push(value);
  }
  return query;
}
