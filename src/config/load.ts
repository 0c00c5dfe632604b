/**
 * Reading a config file into a `Config`: parse the JSON, validate it against the schema,
 * report every problem at once, then resolve what depends on more than one key (limits that
 * fall back to `defaults`, paths relative to the file) and freeze the result.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, formatKeyPath, type ConfigProblem } from './errors.js';
import { readJson, type JsonDocument, type JsonPath } from './json.js';
import {
  configSchema,
  isIgnoredKey,
  normalizeGuestPath,
  type Config,
  type Limits,
  type Mount,
  type RouteConfig,
} from './schema.js';

/** Values that replace the file's own, e.g. from the command line or the environment. */
export interface ConfigOverrides {
  /** A port number, or a string of digits as it comes from `PORT` or `--port`. */
  readonly port?: number | string | undefined;
  readonly host?: string | undefined;
}

/**
 * Reads, validates and resolves the config file at `file` (relative paths are taken from the
 * current directory). The result is deeply frozen; see `Config` for what it promises.
 *
 * @throws {ConfigError} `WASIO_ERR_CONFIG_NOT_FOUND` or `WASIO_ERR_CONFIG_UNREADABLE` when the
 *   file cannot be read; otherwise as `parseConfig`.
 */
export async function loadConfig(file: string, overrides: ConfigOverrides = {}): Promise<Config> {
  const absolute = resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const notFound = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(absolute, [{
      code: notFound ? 'WASIO_ERR_CONFIG_NOT_FOUND' : 'WASIO_ERR_CONFIG_UNREADABLE',
      keyPath: '',
      message: notFound ? 'no such file' : `cannot be read: ${(error as Error).message}`,
    }], { cause: error });
  }
  return parseConfig(text, absolute, overrides);
}

/**
 * Validates and resolves `text` as the contents of the config file `file`, which only anchors
 * relative paths and names the file in errors; nothing is read from disk. The result is
 * deeply frozen, with every default applied, every limit of every route resolved (route, then
 * `defaults`, then the built-in value), `filesystem` turned into the first entry of `mounts`,
 * and `wasm_file` and mount hosts absolute.
 *
 * @throws {ConfigError} listing every problem: `WASIO_ERR_CONFIG_INVALID_JSON` (alone, as
 *   parsing stops there), or any mix of duplicate keys, unknown keys, missing keys, wrong
 *   types and invalid values, each with its key path and position.
 */
export function parseConfig(text: string, file: string, overrides: ConfigOverrides = {}): Config {
  const absolute = resolve(file);
  const document = readJson(text, absolute, { ignoreKey: isIgnoredKey });
  const problems: ConfigProblem[] = [...document.duplicateKeys];
  const parsed = configSchema.safeParse(document.value);
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap((issue) => describeIssue(issue, document)));
  const port = overrides.port === undefined ? undefined : override('port', overrides.port, problems);
  const host = overrides.host === undefined ? undefined : override('host', overrides.host, problems);

  problems.sort(byPosition);
  if (!parsed.success || problems.length > 0) {
    // A failed parse has at least one issue, so the list is never empty here.
    throw new ConfigError(absolute, problems as [ConfigProblem, ...ConfigProblem[]]);
  }

  const config = parsed.data;
  const dir = dirname(absolute);
  const routes: Record<string, RouteConfig> = {};
  for (const [path, route] of Object.entries(config.routes)) {
    const { filesystem, ttl, timeout_ms, memory_limit_mb, max_output_bytes, max_body_bytes, max_concurrency, ...rest } = route;
    const own = { timeout_ms, memory_limit_mb, max_output_bytes, max_body_bytes, max_concurrency };
    const mounts: Mount[] = route.mounts.map((m) => ({ guest: normalizeGuestPath(m.guest), host: resolve(dir, m.host), readonly: m.readonly }));
    if (filesystem && filesystem.mount !== '') {
      mounts.unshift({ guest: normalizeGuestPath(filesystem.mount), host: resolve(dir, filesystem.path), readonly: false });
    }
    routes[path] = {
      path,
      ...rest,
      wasm_file: resolve(dir, route.wasm_file),
      // The Go version took a ttl of 0 for "use cache_ttl"; so does this one.
      ttl: ttl || config.cache_ttl,
      mounts,
      ...resolveLimits(own, config.defaults),
    };
  }
  return deepFreeze({
    ...config,
    ...(port === undefined ? {} : { port }),
    ...(host === undefined ? {} : { host }),
    file: absolute,
    routes,
  });
}

/** Route wins over `defaults`; `null` (no concurrency limit) is a setting, not an absence. */
function resolveLimits(own: { [K in keyof Limits]?: Limits[K] | undefined }, defaults: Limits): Limits {
  const pick = <K extends keyof Limits>(key: K): Limits[K] => own[key] === undefined ? defaults[key] : own[key] as Limits[K];
  return {
    timeout_ms: pick('timeout_ms'),
    memory_limit_mb: pick('memory_limit_mb'),
    max_output_bytes: pick('max_output_bytes'),
    max_body_bytes: pick('max_body_bytes'),
    max_concurrency: pick('max_concurrency'),
  };
}

/** Checks an override with the rule of the key it replaces, reporting into `problems`. */
function override<K extends 'port' | 'host'>(key: K, value: unknown, problems: ConfigProblem[]): Config[K] | undefined {
  const result = configSchema.shape[key].safeParse(value);
  if (result.success) return result.data as Config[K];
  problems.push({
    code: 'WASIO_ERR_CONFIG_INVALID_VALUE',
    keyPath: key,
    message: `the override ${JSON.stringify(value)} ${result.error.issues[0]?.message ?? 'is invalid'}`,
  });
  return undefined;
}

/** Document order; problems without a position (overrides) come last. */
function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  if (!a.position || !b.position) return Number(!a.position) - Number(!b.position);
  return a.position.line - b.position.line || a.position.column - b.position.column;
}

/** Turns one zod issue into the problems a person reads; `unrecognized_keys` may be several. */
function describeIssue(issue: z.core.$ZodIssue, document: JsonDocument): ConfigProblem[] {
  const path: JsonPath = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
  const at = (where: JsonPath) => ({ keyPath: formatKeyPath(where), position: document.positionOf(where) });
  const value = valueAt(document.value, path);
  const got = `, got ${describeValue(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        code: 'WASIO_ERR_CONFIG_UNKNOWN_KEY',
        ...at([...path, key]),
        message: `unknown key${suggestion(key, knownKeys(path))}`,
      }));
    case 'invalid_type': {
      if (value === undefined) return [{ code: 'WASIO_ERR_CONFIG_MISSING_KEY', ...at(path), message: 'is required but missing' }];
      return [{ code: 'WASIO_ERR_CONFIG_INVALID_TYPE', ...at(path), message: `expected ${expectedAt(path, issue.expected)}${got}` }];
    }
    case 'invalid_union': {
      const wrongType = issue.errors.every((branch) => branch.every((inner) => inner.code === 'invalid_type'));
      return [{ code: wrongType ? 'WASIO_ERR_CONFIG_INVALID_TYPE' : 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message: `${issue.message}${got}` }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const message = issue.origin === 'number' || issue.origin === 'int' ? `must be ${bound}${got}` : issue.message;
      return [{ code: 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message }];
    }
    case 'invalid_value':
      return [{ code: 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}` }];
    case 'invalid_format':
      return [{ code: 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message: `${issue.message}${got}` }];
    case 'invalid_key':
      return issue.issues.map((inner) => ({ code: 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message: inner.message }));
    default:
      return [{ code: 'WASIO_ERR_CONFIG_INVALID_VALUE', ...at(path), message: issue.message }];
  }
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'an array',
};

/** What the schema wants at `path`, in words; zod's `expected` says "number" for an integer. */
function expectedAt(path: JsonPath, zodExpected: string): string {
  let schema = unwrap(schemaAt(path) ?? configSchema);
  const nullable = schema instanceof z.ZodNullable;
  if (schema instanceof z.ZodNullable) schema = unwrap(schema.unwrap());
  const words = schema instanceof z.ZodNumber && schema.isInt ? 'an integer' : EXPECTED[zodExpected] ?? zodExpected;
  return nullable ? `${words} or null` : words;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** The schema that validates the value at `path`, with optional/default wrappers removed. */
function schemaAt(path: JsonPath): z.core.$ZodType | undefined {
  let schema: z.core.$ZodType | undefined = configSchema;
  for (const key of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.core.$ZodType>)[key];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType;
    else if (schema instanceof z.ZodArray) schema = schema.element;
    else return undefined;
    if (schema === undefined) return undefined;
  }
  return schema;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let inner = schema;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) inner = inner.unwrap();
    else if (inner instanceof z.ZodPipe) inner = inner.in;
    else return inner;
  }
}

function knownKeys(path: JsonPath): string[] {
  const schema = schemaAt(path);
  const object = schema === undefined ? undefined : unwrap(schema);
  return object instanceof z.ZodObject ? Object.keys(object.shape) : [];
}

/** `; did you mean "x"?` for the known key closest to a typo, or nothing if none is close. */
function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : `; did you mean "${best}"?`;
}

/**
 * The fewest single-character insertions, deletions, substitutions and swaps of neighbours
 * that turn `a` into `b` (optimal string alignment), so "cahce" is one edit from "cache".
 */
function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  const table = new Array<number>((a.length + 1) * width).fill(0);
  const get = (i: number, j: number): number => table[i * width + j] ?? 0;
  for (let i = 0; i <= a.length; i++) {
    for (let j = 0; j <= b.length; j++) {
      let best = i === 0 || j === 0
        ? i + j
        : Math.min(get(i - 1, j) + 1, get(i, j - 1) + 1, get(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, get(i - 2, j - 2) + 1);
      table[i * width + j] = best;
    }
  }
  return get(a.length, b.length);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
