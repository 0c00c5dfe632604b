/**
 * The JSON Schema shipped for editors, derived from the zod schema so that it says exactly
 * what the loader accepts.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

/** Matches the keys every object may hold and the loader ignores (see `isIgnoredKey`). */
const IGNORED_KEY_PATTERN = '^(?:_|\\$schema$)';

/**
 * The JSON Schema (draft-07, which editors support most widely) of a config file as written:
 * defaults are annotations, every key is described, `$schema` and `_` keys are allowed in
 * every object. Always the same output for the same source.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    target: 'draft-07',
    io: 'input',
    override: ({ jsonSchema }) => {
      // z.int() states the safe-integer range; for a config file that is noise, not a rule.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      // A wrapper such as .default() inherits the already adjusted keys of the schema it wraps.
      if (jsonSchema.type !== 'object' || jsonSchema.patternProperties) return;
      jsonSchema.patternProperties = { [IGNORED_KEY_PATTERN]: {} };
      const names = jsonSchema.propertyNames;
      if (typeof names === 'object') jsonSchema.propertyNames = { anyOf: [{ pattern: IGNORED_KEY_PATTERN }, names] };
    },
  });
  const { properties, ...rest } = schema;
  return {
    ...rest,
    properties: {
      $schema: { type: 'string', description: 'Where editors find this schema, e.g. "./schema/config.schema.json".' },
      ...properties,
    },
  };
}

/** `configJsonSchema()` as the text of `schema/config.schema.json`. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
