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

/** A media type (`Content-Type`, `Content-Disposition`) split into its parts. */
export interface MediaType {
  /** The type before the first `;`, trimmed and in lower case ('' when the value is empty). */
  readonly type: string;
  /** Parameters by lower-case name, quotes removed; the first of a repeated name wins. */
  readonly parameters: ReadonlyMap<string, string>;
}

/**
 * Parses `type; name=value; name="quoted value"` as HTTP writes media types (RFC 9110 §5.6.6).
 * `quotedPairs: false` reads quoted strings as HTML's form-data headers write them, where a
 * backslash is an ordinary character (a Windows path in a file name). Never throws: a
 * malformed parameter is skipped, an unterminated quoted string runs to the end.
 */
export function parseMediaType(value: string, options: { quotedPairs?: boolean } = {}): MediaType {
  const quotedPairs = options.quotedPairs ?? true;
  const parameters = new Map<string, string>();
  let at = value.indexOf(';');
  const type = (at === -1 ? value : value.slice(0, at)).trim().toLowerCase();
  while (at !== -1 && at < value.length) {
    const equals = value.indexOf('=', at + 1);
    const semicolon = value.indexOf(';', at + 1);
    if (equals === -1 || (semicolon !== -1 && semicolon < equals)) {
      at = semicolon;
      continue;
    }
    const name = value.slice(at + 1, equals).trim().toLowerCase();
    let cursor = equals + 1;
    while (value[cursor] === ' ' || value[cursor] === '\t') cursor++;
    let parameter: string;
    if (value[cursor] === '"') {
      parameter = '';
      cursor++;
      while (cursor < value.length && value[cursor] !== '"') {
        if (quotedPairs && value[cursor] === '\\' && cursor + 1 < value.length) cursor++;
        parameter += value[cursor];
        cursor++;
      }
      at = value.indexOf(';', cursor);
    } else {
      at = value.indexOf(';', cursor);
      parameter = value.slice(cursor, at === -1 ? value.length : at).trim();
    }
    if (name !== '' && !parameters.has(name)) parameters.set(name, parameter);
  }
  return { type, parameters };
}
