/**
 * Where the config tests find their fixture files. Tests run compiled from dist/test/config,
 * while fixtures stay in the source tree, so paths start at the repository root.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The folder that holds package.json. */
export const repoRoot = findRepoRoot();

/** The absolute path of a file under test/config/fixtures. */
export function fixture(...parts: string[]): string {
  return join(repoRoot, 'test', 'config', 'fixtures', ...parts);
}
