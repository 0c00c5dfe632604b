/**
 * Where the config tests find their fixture files. Tests run compiled from dist/test/config,
 * while fixtures stay in the source tree, so paths start at the repository root.
 */
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.js';

export { repoRoot };

/** The absolute path of a file under test/config/fixtures. */
export function fixture(...parts: string[]): string {
  return join(repoRoot, 'test', 'config', 'fixtures', ...parts);
}
