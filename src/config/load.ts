/**
 * Reading a config file into a `Config`: parse the JSON, validate it against the schema,
 * report every problem at once, then resolve what depends on more than one key (limits that
 * fall back to `defaults`, paths relative to the file) and freeze the result.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { readJson } from './json.js';
import { describeIssues } from './problems.js';
import {
  configSchema,
  isIgnoredKey,
  normalizeGuestPath,
  type Config,
  type Limits,
  type Mount,
  type ParsedConfig,
  type ParsedRoute,
  type RouteConfig,
} from './schema.js';

/** Values that replace the file's own, e.g. from the command line or the environment. */
export interface ConfigOverrides {
  /** A port number, or a string of digits as it comes from `PORT` or `--port`. */
  readonly port?: number | string | undefined;
  readonly host?: string | undefined;
  /** Certificate and key files (both or neither), relative to the current directory, as from `--tls-cert`/`--tls-key`. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  /** The Redis URL of the response cache, as from `WASIO_CACHE_URL` (kept out of the file: it may hold a password). */
  readonly cacheUrl?: string | undefined;
}

/** The overridable values, validated and (for files) made absolute. */
type ReplacedValues = Partial<Pick<Config, 'port' | 'host' | 'tls'>> & { cacheUrl?: string };

/**
 * Reads, validates and resolves the config file at `file` (relative paths are taken from the
 * current directory). The result is deeply frozen; see `parseConfig` for what it holds.
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
 * `wasm_file` and mount hosts absolute, and the overrides in place of the file's values.
 *
 * @throws {ConfigError} listing every problem: `WASIO_ERR_CONFIG_INVALID_JSON` (alone, as
 *   parsing stops there), or any mix of duplicate keys, unknown keys, missing keys, wrong
 *   types and invalid values (of the file or of an override), each with its key path and,
 *   inside the file, its position.
 */
export function parseConfig(text: string, file: string, overrides: ConfigOverrides = {}): Config {
  const absolute = resolve(file);
  const document = readJson(text, absolute, { ignoreKey: isIgnoredKey });
  const problems: ConfigProblem[] = [...document.duplicateKeys];
  const parsed = configSchema.safeParse(document.value);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues, document));
  const replaced = checkOverrides(overrides, problems);
  if (parsed.success && parsed.data.cache.backend === 'redis' && parsed.data.cache.url === undefined && replaced.cacheUrl === undefined) {
    const position = document.positionOf(['cache', 'backend']);
    problems.push({
      code: 'WASIO_ERR_CONFIG_MISSING_KEY', keyPath: 'cache.url', ...(position ? { position } : {}),
      message: 'is required by backend "redis" (or set the WASIO_CACHE_URL variable)',
    });
  }

  problems.sort(byPosition);
  if (!parsed.success || problems.length > 0) {
    // A failed parse has at least one issue, so the list is never empty here.
    throw new ConfigError(absolute, problems as [ConfigProblem, ...ConfigProblem[]]);
  }
  return deepFreeze(resolveConfig(parsed.data, absolute, replaced));
}

const overrideSchema = configSchema.pick({ port: true, host: true, tls: true }).extend({
  cache: z.strictObject({ url: configSchema.shape.cache.unwrap().shape.url }).optional(),
});

/** Validates the overrides by the rules of the keys they replace, reporting into `problems`. */
function checkOverrides(overrides: ConfigOverrides, problems: ConfigProblem[]): ReplacedValues {
  const given: Record<string, unknown> = {};
  if (overrides.port !== undefined) given.port = overrides.port;
  if (overrides.host !== undefined) given.host = overrides.host;
  if (overrides.tls !== undefined) given.tls = overrides.tls;
  if (overrides.cacheUrl !== undefined) given.cache = { url: overrides.cacheUrl };
  const result = overrideSchema.safeParse(given);
  if (!result.success) {
    const found = describeIssues(result.error.issues, { value: given });
    problems.push(...found.map((problem) => ({ ...problem, message: `override ${problem.message}` })));
    return {};
  }
  const { tls, cache } = result.data;
  return {
    ...(overrides.port === undefined ? {} : { port: result.data.port }),
    ...(overrides.host === undefined ? {} : { host: result.data.host }),
    // Paths given on the command line are the shell's: relative to the current directory.
    ...(tls === undefined ? {} : { tls: { cert: resolve(tls.cert), key: resolve(tls.key) } }),
    ...(cache?.url === undefined ? {} : { cacheUrl: cache.url }),
  };
}

function resolveConfig(config: ParsedConfig, file: string, overrides: ReplacedValues): Config {
  const dir = dirname(file);
  const routes: Record<string, RouteConfig> = {};
  for (const [path, route] of Object.entries(config.routes)) routes[path] = resolveRoute(path, route, config, dir);
  const { cacheUrl, ...replaced } = overrides;
  const { tls, ...rest } = config;
  return {
    ...rest,
    ...(tls === undefined ? {} : { tls: { cert: resolve(dir, tls.cert), key: resolve(dir, tls.key) } }),
    ...replaced,
    // The variable is set for every replica alike; a config that keeps its cache in memory ignores it.
    cache: cacheUrl === undefined || config.cache.backend !== 'redis' ? config.cache : { ...config.cache, url: cacheUrl },
    file,
    routes,
  };
}

function resolveRoute(path: string, route: ParsedRoute, config: ParsedConfig, dir: string): RouteConfig {
  const { filesystem, ttl, wasm_file, mounts, timeout_ms, memory_limit_mb, max_output_bytes, max_body_bytes, max_concurrency, ...rest } = route;
  const resolvedMounts: Mount[] = mounts.map((m) => ({ guest: normalizeGuestPath(m.guest), host: resolve(dir, m.host), readonly: m.readonly }));
  if (filesystem && filesystem.mount !== '') {
    resolvedMounts.unshift({ guest: normalizeGuestPath(filesystem.mount), host: resolve(dir, filesystem.path), readonly: false });
  }
  const { defaults } = config;
  const limits: Limits = {
    timeout_ms: timeout_ms ?? defaults.timeout_ms,
    memory_limit_mb: memory_limit_mb ?? defaults.memory_limit_mb,
    max_output_bytes: max_output_bytes ?? defaults.max_output_bytes,
    max_body_bytes: max_body_bytes ?? defaults.max_body_bytes,
    // null on a route lifts a limit that defaults set, so only an absent key falls back.
    max_concurrency: max_concurrency === undefined ? defaults.max_concurrency : max_concurrency,
  };
  return {
    path,
    ...rest,
    wasm_file: resolve(dir, wasm_file),
    // The Go version took a ttl of 0 for "use cache_ttl"; so does this one.
    ttl: ttl || config.cache_ttl,
    mounts: resolvedMounts,
    ...limits,
  };
}

/** Document order; problems without a position (overrides) come last. */
function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  if (!a.position || !b.position) return Number(!a.position) - Number(!b.position);
  return a.position.line - b.position.line || a.position.column - b.position.column;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
