/**
 * Writes schema/config.schema.json from the config schema. Run after a build:
 * `node dist/scripts/generate-schema.js`. A test fails while the committed file differs.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigJsonSchema } from '../src/config/json-schema.js';

// This file runs as dist/scripts/generate-schema.js, two folders below the repository root.
const target = fileURLToPath(new URL('../../schema/config.schema.json', import.meta.url));
await writeFile(target, renderConfigJsonSchema());
console.log(`wrote ${target}`);
