/**
 * A full garbage collection of the calling thread's isolate, on demand. V8 decides alone when
 * to collect in full, and some garbage it does not weigh: an idle thread allocates nothing, so
 * the last instance and its memory would stay resident; the file bytes of a module compiled and
 * rewritten at start are external memory that waits for the next full collection.
 *
 * `gc` is only reachable with --expose-gc, which a running process can still turn on for
 * contexts made afterwards.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/** Collects in full and returns true, or returns false where V8 will not let it. */
export function collectGarbage(): boolean {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as () => void;
    } catch {
      collector = null;
    }
  }
  if (collector === null) return false;
  collector();
  return true;
}
