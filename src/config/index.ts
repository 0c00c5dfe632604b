/**
 * The config layer: reads and validates a WASIO config file into a frozen `Config`. It knows
 * nothing of HTTP or of running modules; it only says what the file means.
 */
export { loadConfig, parseConfig, type ConfigOverrides } from './load.js';
export { ConfigError, type ConfigErrorCode, type ConfigProblem, type TextPosition } from './errors.js';
export {
  CACHE_BACKEND_TIMEOUT_MS,
  LIMIT_DEFAULTS,
  type CacheBackendConfig,
  type Config,
  type ConfigFile,
  type Limits,
  type Mount,
  type RouteConfig,
  type TlsConfig,
} from './schema.js';
export { configJsonSchema, renderConfigJsonSchema } from './json-schema.js';
