/**
 * Errors of the config layer. Everything that can go wrong while reading and validating a
 * config file ends as one `ConfigError` that lists every problem found, so a person fixes the
 * whole file in one pass instead of one typo per restart.
 */

/**
 * Stable codes, one per kind of problem:
 * - `WASIO_ERR_CONFIG_NOT_FOUND`: the config file does not exist;
 * - `WASIO_ERR_CONFIG_UNREADABLE`: it exists but cannot be read (a folder, no permission, ...);
 * - `WASIO_ERR_CONFIG_INVALID_JSON`: it is not JSON (with line and column);
 * - `WASIO_ERR_CONFIG_DUPLICATE_KEY`: an object names the same key twice, so one value would be
 *   silently lost;
 * - `WASIO_ERR_CONFIG_UNKNOWN_KEY`: a key the config does not know, usually a typo;
 * - `WASIO_ERR_CONFIG_MISSING_KEY`: a required key is absent;
 * - `WASIO_ERR_CONFIG_INVALID_TYPE`: a value of the wrong JSON type;
 * - `WASIO_ERR_CONFIG_INVALID_VALUE`: a value of the right type that breaks a rule (a range, a
 *   route path's form, an enum, a pair of keys that go together);
 * - `WASIO_ERR_CONFIG_INVALID`: the code of an error whose problems are of several kinds.
 */
export type ConfigErrorCode =
  | 'WASIO_ERR_CONFIG_NOT_FOUND'
  | 'WASIO_ERR_CONFIG_UNREADABLE'
  | 'WASIO_ERR_CONFIG_INVALID_JSON'
  | 'WASIO_ERR_CONFIG_DUPLICATE_KEY'
  | 'WASIO_ERR_CONFIG_UNKNOWN_KEY'
  | 'WASIO_ERR_CONFIG_MISSING_KEY'
  | 'WASIO_ERR_CONFIG_INVALID_TYPE'
  | 'WASIO_ERR_CONFIG_INVALID_VALUE'
  | 'WASIO_ERR_CONFIG_INVALID';

/** A place in a text file, both counted from 1 (as editors show them). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

/** One thing wrong with a config file. */
export interface ConfigProblem {
  /** The kind of problem; never `WASIO_ERR_CONFIG_INVALID`, which only summarizes. */
  readonly code: Exclude<ConfigErrorCode, 'WASIO_ERR_CONFIG_INVALID'>;
  /** Where in the document, e.g. `routes["/hello"].timeout_ms`; empty for the whole file. */
  readonly keyPath: string;
  /** What is wrong and, where it helps, what was expected or meant. */
  readonly message: string;
  /** Where the offending key or value starts, when the problem is inside the text. */
  readonly position?: TextPosition;
}

/**
 * A config file that cannot be used. `problems` lists everything found (at least one);
 * `code` is their common code, or `WASIO_ERR_CONFIG_INVALID` when they differ; `keyPath` is the
 * first problem's. The message names the file and each problem's key path and position.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly keyPath: string;

  /**
   * @param file the config file, as an absolute path.
   * @param problems everything wrong with it, in document order.
   */
  constructor(
    readonly file: string,
    readonly problems: readonly [ConfigProblem, ...ConfigProblem[]],
    options?: { cause?: unknown },
  ) {
    super(formatMessage(file, problems), options);
    const [first] = problems;
    this.code = problems.every((p) => p.code === first.code) ? first.code : 'WASIO_ERR_CONFIG_INVALID';
    this.keyPath = first.keyPath;
  }
}

/**
 * Writes a key path the way a person would type it into code: `.name` for plain keys,
 * `["/hello"]` for the others, `[0]` for array items. The empty path (the whole document) is
 * the empty string.
 */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function formatMessage(file: string, problems: readonly [ConfigProblem, ...ConfigProblem[]]): string {
  if (problems.length === 1) return `Config file ${file}: ${formatProblem(problems[0])}`;
  const lines = problems.map((p) => `  - ${formatProblem(p)}`);
  return `Config file ${file} has ${problems.length} problems:\n${lines.join('\n')}`;
}

function formatProblem({ keyPath, position, message }: ConfigProblem): string {
  const at = position ? `(line ${position.line}, column ${position.column})` : '';
  const where = [keyPath, at].filter((part) => part !== '').join(' ');
  return where === '' ? message : `${where}: ${message}`;
}
