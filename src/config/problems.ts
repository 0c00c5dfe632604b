/**
 * Zod's issues turned into problems a person can act on: the key path as it would be typed,
 * the position in the file, what was expected next to what was found, and for an unknown key
 * the known key it was probably meant to be.
 */
import { z } from 'zod';
import { formatKeyPath, type ConfigProblem, type TextPosition } from './errors.js';
import type { JsonPath } from './json.js';
import { configSchema } from './schema.js';

/** The validated document, and where its parts were written when it came from a file. */
export interface IssueSource {
  readonly value: unknown;
  positionOf?(path: JsonPath): TextPosition;
}

/**
 * Describes the issues that validating `source.value` against `configSchema` raised. An
 * `unrecognized_keys` issue becomes one problem per key.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], source: IssueSource): ConfigProblem[] {
  return issues.flatMap((issue) => describeIssue(issue, source));
}

/** Turns one zod issue into the problems a person reads; `unrecognized_keys` may be several. */
function describeIssue(issue: z.core.$ZodIssue, source: IssueSource): ConfigProblem[] {
  const path: JsonPath = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
  const at = (where: JsonPath) => {
    const position = source.positionOf?.(where);
    return { keyPath: formatKeyPath(where), ...(position ? { position } : {}) };
  };
  const value = valueAt(source.value, path);
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
