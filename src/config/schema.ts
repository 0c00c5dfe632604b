/**
 * The config file's shape, written once: the loader validates with these zod schemas, the
 * types below are inferred from them, and the shipped JSON Schema is generated from them
 * (see json-schema.ts), so the three cannot disagree.
 */
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';
import { z } from 'zod';

/**
 * Built-in route limits (SPEC section 4), used where neither the route nor `defaults` sets one.
 * `max_concurrency: null` means no limit.
 */
export const LIMIT_DEFAULTS = Object.freeze({
  timeout_ms: 10_000,
  memory_limit_mb: 256,
  max_output_bytes: 16 * 1024 * 1024,
  max_body_bytes: 1024 * 1024,
  max_concurrency: null,
});

const DEFAULT_PORT = 8080;
const DEFAULT_CACHE_TTL = 300;
const DEFAULT_CACHE_SIZE = 1024;
const PORT_RULE = 'must be a TCP port 0-65535, as a number or a string of digits';

/** The methods a route answers when it lists none. */
const DEFAULT_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'POST']);

/**
 * Keys that may appear in any object of the file and mean nothing: `$schema` points editors at
 * the JSON Schema, keys starting with `_` are comments.
 */
export function isIgnoredKey(key: string): boolean {
  return key === '$schema' || key.startsWith('_');
}

/**
 * The canonical form of a guest path that `guestPathSchema` accepted: `.` segments, doubled
 * and trailing slashes removed, so `/data/` and `/data` are recognized as the same mount.
 */
export function normalizeGuestPath(guest: string): string {
  const normalized = posix.normalize(guest);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

// setTimeout treats anything longer as 1 ms, so a longer timeout would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A wasm32 memory has at most 65536 pages of 64 KiB.
const MAX_WASM32_MEMORY_MB = 4096;

const noNul = (what: string) => z.string().regex(/^[^\0]*$/, `${what} must not contain a NUL character`);
const filePath = (what: string) => noNul(what).min(1, `${what} must not be empty`);

const guestPathSchema = noNul('a guest path')
  .regex(/^\//, 'must be an absolute guest path such as /data')
  .refine((guest) => !guest.split('/').includes('..'), 'must not contain ".." segments');

const LITERAL_SEGMENT = "[A-Za-z0-9._~!$&'()+,;=@%-]+";
const PARAM_SEGMENT = ':[A-Za-z_][A-Za-z0-9_]*';
const SEGMENT = `(?:${LITERAL_SEGMENT}|${PARAM_SEGMENT})`;

/** A route's URL path: literal segments, `:name` parameters, and an optional trailing `*`. */
const routePathSchema = z
  .string()
  .regex(
    new RegExp(`^/(?:${SEGMENT}/)*(?:${SEGMENT}|\\*)?$`),
    'must start with "/" and consist of literal segments, ":name" parameters and an optional final "*" segment, e.g. /users/:id or /files/*',
  )
  .refine((route) => {
    const names = route.split('/').filter((segment) => segment.startsWith(':'));
    return new Set(names).size === names.length;
  }, 'names the same parameter twice');

const limitSchemas = {
  timeout_ms: z
    .int()
    .min(1)
    .max(MAX_TIMER_MS)
    .describe('Milliseconds an instance may run before it is stopped (504).'),
  memory_limit_mb: z
    .int()
    .min(1)
    .max(MAX_WASM32_MEMORY_MB)
    .describe('MiB of linear memory a module may grow to; past it the request fails (500).'),
  max_output_bytes: z
    .int()
    .min(0)
    .describe('Bytes of output an instance may write before it is stopped (500).'),
  max_body_bytes: z
    .int()
    .min(0)
    .describe('Largest request body accepted; a larger one gets 413 before any instance starts.'),
  max_concurrency: z
    .int()
    .min(1)
    .nullable()
    .describe('Instances of this route running at once; more wait in the queue. null: no limit.'),
};
type LimitKey = keyof typeof limitSchemas;

const defaultsSchema = z
  .strictObject({
    timeout_ms: limitSchemas.timeout_ms.default(LIMIT_DEFAULTS.timeout_ms),
    memory_limit_mb: limitSchemas.memory_limit_mb.default(LIMIT_DEFAULTS.memory_limit_mb),
    max_output_bytes: limitSchemas.max_output_bytes.default(LIMIT_DEFAULTS.max_output_bytes),
    max_body_bytes: limitSchemas.max_body_bytes.default(LIMIT_DEFAULTS.max_body_bytes),
    max_concurrency: limitSchemas.max_concurrency.default(LIMIT_DEFAULTS.max_concurrency),
  })
  .describe('Limits for every route; a route\'s own setting wins.');

/** A limit as a route key: optional, falling back to `defaults`. */
function routeLimit<K extends LimitKey>(key: K): z.ZodOptional<(typeof limitSchemas)[K]> {
  const schema: z.ZodType = limitSchemas[key];
  return schema.optional().describe(`${schema.description} Default: defaults.${key}.`) as z.ZodOptional<(typeof limitSchemas)[K]>;
}

const mountSchema = z
  .strictObject({
    guest: guestPathSchema.describe('Where the guest sees the folder, e.g. /data.'),
    host: filePath('a host path').describe('The folder on the host, relative to the config file.'),
    readonly: z.boolean().default(false).describe('Refuse every change to the folder.'),
  })
  .describe('A host folder the guest may use.');

const filesystemSchema = z
  .strictObject({
    mount: z.string().describe('Where the guest sees the folder, e.g. /data.'),
    path: z.string().describe('The folder on the host, relative to the config file.'),
  })
  .superRefine((fs, ctx) => {
    // The Go version skipped a filesystem with an empty field; both empty stays "no mount",
    // one empty is a half-written mount and is reported instead of silently dropped.
    if (fs.mount === '' && fs.path === '') return;
    const halfWritten = 'must not be empty when the other of mount and path is set';
    if (fs.path === '') ctx.addIssue({ code: 'custom', path: ['path'], message: halfWritten });
    if (fs.mount === '') ctx.addIssue({ code: 'custom', path: ['mount'], message: halfWritten });
    const guest = guestPathSchema.safeParse(fs.mount);
    if (fs.mount !== '' && !guest.success) {
      for (const issue of guest.error.issues) ctx.addIssue({ code: 'custom', path: ['mount'], message: issue.message });
    }
  })
  .describe('The Go version\'s single read-write mount; the same as one entry of mounts.');

const routeSchema = z
  .strictObject({
    wasm_file: filePath('wasm_file').describe('The module to run, relative to the config file.'),
    cache: z.boolean().default(false).describe('Cache 200 responses to GET and HEAD.'),
    ttl: z.int().min(0).optional().describe('Seconds a cached response lives. Default (and 0): cache_ttl.'),
    filesystem: filesystemSchema.optional(),
    description: z.string().default('').describe('Shown on the index page.'),
    category: z.string().default('').describe('Groups routes on the index page.'),
    example: z.string().default('').describe('An example query string, shown on the index page.'),
    mounts: z.array(mountSchema).default(() => []).describe('Host folders the guest may use.'),
    env: z
      .record(
        z.string().regex(/^[^=\0]+$/, 'must be a non-empty variable name without "=" or NUL'),
        noNul('an environment value'),
      )
      .default(() => ({}))
      .describe('Environment variables of the guest; the host\'s own never reach it. Keys starting with "_" are comments.'),
    args: z.array(noNul('an argument')).default(() => []).describe('Arguments after the program name.'),
    methods: z
      .array(z.string().regex(/^[A-Z][A-Z0-9_-]*$/, 'must be an upper-case HTTP method name such as GET'))
      .min(1, 'must list at least one method')
      .refine((methods) => new Set(methods).size === methods.length, 'lists a method twice')
      .default(() => [...DEFAULT_METHODS])
      .describe('HTTP methods the route answers; others get 405.'),
    protocol: z
      .enum(['wasio', 'cgi'])
      .default('wasio')
      .describe('wasio: JSON request on stdin, body on stdout. cgi: WAGI-style CGI.'),
    content_type: z
      .string()
      .regex(
        /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+(?:\s*;[^\0-\x1f\x7f]*)?$/,
        'must be a media type such as "text/plain; charset=utf-8"',
      )
      .optional()
      .describe('Content-Type of responses; by default it is sniffed from the body.'),
    timeout_ms: routeLimit('timeout_ms'),
    memory_limit_mb: routeLimit('memory_limit_mb'),
    max_output_bytes: routeLimit('max_output_bytes'),
    max_body_bytes: routeLimit('max_body_bytes'),
    max_concurrency: routeLimit('max_concurrency'),
  })
  .superRefine((route, ctx) => {
    const guests = [
      ...(route.filesystem && route.filesystem.mount !== '' ? [{ guest: route.filesystem.mount, path: ['filesystem', 'mount'] }] : []),
      ...route.mounts.map((mount, index) => ({ guest: mount.guest, path: ['mounts', index, 'guest'] })),
    ];
    const seen = new Set<string>();
    for (const { guest, path } of guests) {
      const normalized = normalizeGuestPath(guest);
      if (seen.has(normalized)) ctx.addIssue({ code: 'custom', path, message: `mounts ${normalized} a second time` });
      seen.add(normalized);
    }
  })
  .describe('How one URL path is served.');

/** How long a response cache backend may take to answer before the request goes on without it. */
export const CACHE_BACKEND_TIMEOUT_MS = 100;

const cacheBackendSchema = z
  .strictObject({
    backend: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('memory: each server keeps its own cache. redis: servers share one cache in Redis.'),
    url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379')
      .optional()
      .describe('The Redis server, e.g. redis://redis:6379/0 (required for the redis backend); the WASIO_CACHE_URL variable overrides it.'),
    key_prefix: z
      .string()
      .regex(/^\S*$/, 'must not contain white space')
      .default('wasio:')
      .describe('Prefix of every key WASIO writes, so several deployments can share one Redis.'),
    timeout_ms: z
      .int()
      .min(1)
      .max(10_000)
      .default(CACHE_BACKEND_TIMEOUT_MS)
      .describe('Milliseconds a Redis command may take; past it the request is served without the cache.'),
  })
  .superRefine((cache, ctx) => {
    if (cache.backend === 'memory' && cache.url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'is used only by backend "redis": set backend to "redis" or remove url' });
    }
  })
  .describe('Where cached responses are kept. Default: in memory, per server.');

const tlsSchema = z
  .strictObject({
    cert: filePath('cert').describe('PEM certificate chain, relative to the config file.'),
    key: filePath('key').describe('PEM private key, relative to the config file.'),
  })
  .describe('Serve HTTPS with this certificate; --tls-cert and --tls-key override it.');

/** The schema of a whole config file, after `$schema` and `_` keys are left out. */
export const configSchema = z
  .strictObject({
    port: z
      .union(
        [
          z.int().min(0).max(65535),
          z
            .string()
            .regex(/^\d*$/, PORT_RULE)
            .refine((port) => !/^\d+$/.test(port) || Number(port) <= 65535, PORT_RULE),
        ],
        { error: PORT_RULE },
      )
      .default(String(DEFAULT_PORT))
      // The Go version read the port as a string and took "" for the default.
      .transform((port) => (port === '' ? DEFAULT_PORT : Number(port)))
      .describe('TCP port to listen on; the PORT variable and --port override it.'),
    host: z.string().regex(/^\S+$/, 'must be a host name or IP address').default('127.0.0.1').describe('Address to listen on.'),
    // The Go version took 0 for "the default"; so does this one.
    cache_ttl: z
      .int()
      .min(0)
      .default(DEFAULT_CACHE_TTL)
      .transform((ttl) => ttl || DEFAULT_CACHE_TTL)
      .describe('Seconds a cached response lives unless its route sets ttl. 0: the default.'),
    cache_size: z
      .int()
      .min(0)
      .default(DEFAULT_CACHE_SIZE)
      .transform((size) => size || DEFAULT_CACHE_SIZE)
      .describe('Most responses (and compiled modules) kept. 0: the default.'),
    index_page: z.boolean().default(true).describe('Serve the instrument index at /.'),
    monitoring: z.boolean().default(true).describe('Serve /monitoring and /stats.'),
    workers: z
      .int()
      .min(1)
      .optional()
      .transform((workers) => workers ?? availableParallelism())
      .describe('Worker threads that run modules. Default: one per core.'),
    processes: z
      .union([z.int().min(1), z.literal('auto')], { error: 'must be a positive integer or "auto"' })
      .default(1)
      .transform((processes) => (processes === 'auto' ? availableParallelism() : processes))
      .describe('HTTP processes sharing the port, so requests are parsed and answered on every core; "auto": one per core. The workers are shared out among them.'),
    max_queue: z.int().min(0).default(1024).describe('Requests that may wait server-wide; past it 503.'),
    defaults: defaultsSchema.prefault({}),
    cache: cacheBackendSchema.prefault({}),
    tls: tlsSchema.optional(),
    routes: z
      .record(routePathSchema, routeSchema)
      .default(() => ({}))
      .describe('URL path -> route. Paths may hold :name parameters and a trailing *.'),
  })
  .meta({ title: 'WASIO config', description: 'The config file of a WASIO server.' });

/** The limits of one route, as resolved: route, then `defaults`, then `LIMIT_DEFAULTS`. */
export type Limits = z.output<typeof defaultsSchema>;

/** Where cached responses are kept (the top-level `cache` key). */
export type CacheBackendConfig = Readonly<z.output<typeof cacheBackendSchema>>;

/** The certificate and key files of HTTPS, as absolute paths. */
export type TlsConfig = Readonly<z.output<typeof tlsSchema>>;

/** A folder the guest may use, with `host` absolute and `guest` normalized. */
export type Mount = Readonly<z.output<typeof mountSchema>>;

type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A route as validated, before it is resolved against the rest of the file. */
export type ParsedRoute = z.output<typeof routeSchema>;
/** A config as validated, before its routes are resolved. */
export type ParsedConfig = z.output<typeof configSchema>;

/**
 * One route, fully resolved: `path` is its key in `routes`, every limit and the ttl are set,
 * the Go-style `filesystem` is the first entry of `mounts`, and every file path is absolute.
 */
export type RouteConfig = DeepReadonly<
  Omit<ParsedRoute, 'filesystem' | 'ttl' | LimitKey> & Limits & { path: string; ttl: number }
>;

/**
 * A loaded config: every default applied, `port` a number, `workers` a count, `file` the
 * absolute path it was read from. Deeply frozen.
 */
export type Config = DeepReadonly<
  Omit<ParsedConfig, 'routes'> & { file: string; routes: Record<string, RouteConfig> }
>;

/**
 * A config file as written, before defaults, without `$schema` and `_` keys: what a program
 * that writes config files should produce.
 */
export type ConfigFile = z.input<typeof configSchema>;
