/**
 * A strict JSON reader for config files. `JSON.parse` is not enough here: it keeps the last of
 * two equal keys without a word (a duplicated route would vanish), it says where a syntax
 * error is only in some Node versions, and it cannot tell where a valid key sits, which every
 * "unknown key" and "wrong type" message wants to show.
 */
import { ConfigError, formatKeyPath, type ConfigProblem, type TextPosition } from './errors.js';

/** A key path inside a JSON document: object keys and array indexes, from the root down. */
export type JsonPath = readonly (string | number)[];

/** A parsed document and where each of its parts was written. */
export interface JsonDocument {
  /** The value, without the members whose keys `ignoreKey` matched. */
  readonly value: unknown;
  /**
   * Where the thing at `path` starts: an object member's key, an array item's value. A path
   * that is not in the document (a missing key) answers with its nearest ancestor.
   */
  positionOf(path: JsonPath): TextPosition;
  /** Keys written twice in one object, each reported at its second occurrence. */
  readonly duplicateKeys: readonly ConfigProblem[];
}

/** What the reader should do beyond plain JSON. */
export interface ReadJsonOptions {
  /** Members whose key this accepts are checked for syntax, then left out of the value. */
  readonly ignoreKey?: (key: string) => boolean;
}

/** Deeper nesting than this is refused rather than risking a stack overflow. */
const MAX_DEPTH = 256;

/**
 * Parses `text` (RFC 8259 JSON, optionally after a UTF-8 byte order mark) as the contents of
 * `file`, recording positions and duplicate keys.
 *
 * @throws {ConfigError} `WASIO_ERR_CONFIG_INVALID_JSON` at the first syntax error, with its
 *   line, column and the key path of the enclosing value.
 */
export function readJson(text: string, file: string, options: ReadJsonOptions = {}): JsonDocument {
  return new Reader(text, file, options.ignoreKey ?? (() => false)).document();
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
};

class Reader {
  private at = 0;
  /** Offsets of every key and array item, keyed by `pathKey(path)`. */
  private readonly offsets = new Map<string, number>();
  private readonly duplicates: ConfigProblem[] = [];
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly ignoreKey: (key: string) => boolean,
  ) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  document(): JsonDocument {
    if (this.text.charCodeAt(0) === 0xfeff) this.at = 1;
    this.skipWhitespace();
    if (this.at >= this.text.length) this.fail([], 'the file is empty; expected a JSON object');
    this.offsets.set(pathKey([]), this.at);
    const value = this.value([]);
    this.skipWhitespace();
    if (this.at < this.text.length) this.fail([], `${this.describeNext()} after the end of the JSON value`);
    return {
      value,
      positionOf: (path) => this.positionOf(path),
      duplicateKeys: this.duplicates,
    };
  }

  private value(path: JsonPath): unknown {
    if (path.length > MAX_DEPTH) this.fail(path, `nested more than ${MAX_DEPTH} levels deep`);
    const c = this.text[this.at];
    if (c === '{') return this.object(path);
    if (c === '[') return this.array(path);
    if (c === '"') return this.string(path);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number(path);
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return literal;
      }
    }
    if (c === "'") this.fail(path, 'strings must be written in double quotes');
    return this.fail(path, `${this.describeNext()}; expected a value`);
  }

  private object(path: JsonPath): Record<string, unknown> {
    // Keys are defined, never assigned, so a key such as "__proto__" stays an ordinary key.
    const result: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.at++;
    this.skipWhitespace();
    if (this.text[this.at] === '}') {
      this.at++;
      return result;
    }
    for (;;) {
      if (this.text[this.at] === '}') this.fail(path, 'a trailing comma before "}" is not allowed in JSON');
      if (this.text[this.at] !== '"') this.fail(path, `${this.describeNext()}; expected a key in double quotes`);
      const keyOffset = this.at;
      const key = this.string(path);
      const memberPath = [...path, key];
      this.skipWhitespace();
      if (this.text[this.at] !== ':') this.fail(memberPath, `${this.describeNext()}; expected ":" after the key`);
      this.at++;
      this.skipWhitespace();
      const ignored = this.ignoreKey(key);
      if (!ignored) {
        if (seen.has(key)) {
          this.duplicates.push({
            code: 'WASIO_ERR_CONFIG_DUPLICATE_KEY',
            keyPath: formatKeyPath(memberPath),
            position: this.position(keyOffset),
            message: `the key is written twice (first at line ${this.positionOf(memberPath).line}); JSON keeps only one of them`,
          });
        } else {
          this.offsets.set(pathKey(memberPath), keyOffset);
        }
        seen.add(key);
      }
      const value = this.value(memberPath);
      if (!ignored) Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.text[this.at];
      this.at++;
      if (next === '}') return result;
      if (next !== ',') {
        this.at--;
        const hint = this.text[this.at] === '"' ? ' (is a comma missing?)' : '';
        this.fail(path, `${this.describeNext()} after the value of ${JSON.stringify(key)}; expected "," or "}"${hint}`);
      }
      this.skipWhitespace();
    }
  }

  private array(path: JsonPath): unknown[] {
    const result: unknown[] = [];
    this.at++;
    this.skipWhitespace();
    if (this.text[this.at] === ']') {
      this.at++;
      return result;
    }
    for (;;) {
      if (this.text[this.at] === ']') this.fail(path, 'a trailing comma before "]" is not allowed in JSON');
      const itemPath = [...path, result.length];
      this.offsets.set(pathKey(itemPath), this.at);
      result.push(this.value(itemPath));
      this.skipWhitespace();
      const next = this.text[this.at];
      this.at++;
      if (next === ']') return result;
      if (next !== ',') {
        this.at--;
        const hint = /["{[\d-]/.test(this.text[this.at] ?? '') ? ' (is a comma missing?)' : '';
        this.fail(path, `${this.describeNext()} after an array item; expected "," or "]"${hint}`);
      }
      this.skipWhitespace();
    }
  }

  private string(path: JsonPath): string {
    const start = this.at;
    let out = '';
    let chunk = ++this.at;
    for (;;) {
      const code = this.text.charCodeAt(this.at);
      if (Number.isNaN(code)) {
        this.at = start;
        this.fail(path, 'a string that is never closed');
      }
      if (code === 0x22) break;
      if (code < 0x20) this.fail(path, 'a control character (such as a line break) inside a string; write it as an escape like \\n');
      if (code !== 0x5c) {
        this.at++;
        continue;
      }
      out += this.text.slice(chunk, this.at);
      const escape = this.text[this.at + 1] ?? '';
      if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at + 2, this.at + 6))) {
        out += String.fromCharCode(Number.parseInt(this.text.slice(this.at + 2, this.at + 6), 16));
        this.at += 6;
      } else if (Object.hasOwn(ESCAPES, escape)) {
        out += ESCAPES[escape];
        this.at += 2;
      } else {
        this.fail(path, `an invalid escape "\\${escape}" in a string`);
      }
      chunk = this.at;
    }
    out += this.text.slice(chunk, this.at);
    this.at++;
    return out;
  }

  private number(path: JsonPath): number {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    const end = match ? this.at + match[0].length : this.at;
    // A number glued to more number-like text ("01", "1.", "2e") is one bad token, not two.
    if (!match || /[\w.+-]/.test(this.text[end] ?? '')) {
      const token = /^[\w.+-]+/.exec(this.text.slice(this.at))?.[0] ?? '';
      this.fail(path, `an invalid number ${JSON.stringify(token)}`);
    }
    this.at = end;
    return Number(match[0]);
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
    if (this.text[this.at] === '/' && (this.text[this.at + 1] === '/' || this.text[this.at + 1] === '*')) {
      this.fail(null, 'comments are not allowed in JSON; write them as a key starting with "_", e.g. "_comment": "..."');
    }
  }

  private describeNext(): string {
    const code = this.text.codePointAt(this.at);
    if (code === undefined) return 'the file ends';
    const char = String.fromCodePoint(code);
    return char === '"' ? `unexpected '"'` : `unexpected ${JSON.stringify(char)}`;
  }

  private positionOf(path: JsonPath): TextPosition {
    for (let n = path.length; n >= 0; n--) {
      const offset = this.offsets.get(pathKey(path.slice(0, n)));
      if (offset !== undefined) return this.position(offset);
    }
    return this.position(0);
  }

  private position(offset: number): TextPosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (this.lineStarts[low] ?? 0) + 1 };
  }

  /** @param path the enclosing value, or null when unknown (whitespace between tokens). */
  private fail(path: JsonPath | null, message: string): never {
    throw new ConfigError(this.file, [{
      code: 'WASIO_ERR_CONFIG_INVALID_JSON',
      keyPath: path === null ? '' : formatKeyPath(path),
      position: this.position(this.at),
      message: `invalid JSON: ${message}`,
    }]);
  }
}

function pathKey(path: JsonPath): string {
  return JSON.stringify(path);
}
