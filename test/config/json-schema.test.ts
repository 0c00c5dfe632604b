import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { configJsonSchema, LIMIT_DEFAULTS, renderConfigJsonSchema } from '../../src/config/index.js';
import { repoRoot } from './fixtures.js';

interface Node {
  type?: string;
  properties?: Record<string, Node & { default?: unknown }>;
  additionalProperties?: Node | boolean;
  patternProperties?: Record<string, unknown>;
  items?: Node;
}

const schema = configJsonSchema() as Node;
const route = schema.properties?.routes?.additionalProperties as Node;

test('the committed schema/config.schema.json is what the generator writes now', async () => {
  const committed = await readFile(join(repoRoot, 'schema', 'config.schema.json'), 'utf8');
  assert.equal(committed, renderConfigJsonSchema(),
    'schema/config.schema.json is stale: run `npm run build && node dist/scripts/generate-schema.js` and commit it');
});

test('the schema names every key of the config file', () => {
  assert.deepEqual(Object.keys(schema.properties ?? {}).sort(), [
    '$schema', 'cache', 'cache_size', 'cache_ttl', 'defaults', 'host', 'index_page', 'max_queue', 'monitoring', 'port', 'processes', 'routes',
    'tls', 'workers',
  ]);
  assert.deepEqual(Object.keys(route.properties ?? {}).sort(), [
    'args', 'cache', 'category', 'content_type', 'description', 'env', 'example', 'filesystem', 'max_body_bytes',
    'max_concurrency', 'max_output_bytes', 'memory_limit_mb', 'methods', 'mounts', 'protocol', 'timeout_ms', 'ttl',
    'wasm_file',
  ]);
});

test('the schema states the built-in defaults', () => {
  const defaults = schema.properties?.defaults?.properties ?? {};
  assert.deepEqual(Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, value.default])), LIMIT_DEFAULTS);
  assert.equal(schema.properties?.port?.default, '8080');
  assert.deepEqual(route.properties?.methods?.default, ['GET', 'HEAD', 'POST']);
});

test('every object of the schema refuses unknown keys but allows $schema and _ keys', () => {
  const objects: Node[] = [];
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    if ((node as Node).type === 'object') objects.push(node as Node);
    Object.values(node).forEach(visit);
  };
  visit(schema);
  assert.ok(objects.length >= 6, `found only ${objects.length} object schemas`);
  for (const node of objects) {
    assert.notEqual(node.additionalProperties, undefined);
    assert.deepEqual(Object.keys(node.patternProperties ?? {}), ['^(?:_|\\$schema$)']);
  }
});
