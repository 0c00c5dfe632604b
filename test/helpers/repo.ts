/**
 * Where the repository is. Tests run compiled from dist/test/..., while the files they use
 * (instruments, probes, fixtures, examples) stay in the source tree, so paths start at the
 * folder that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

/** An absolute path below the repository root. */
export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}
