/**
 * Whether a signed checkpoint extends one seen before (RFC 9162 §2.1.4 consistency): the
 * check behind the auditor's witness (log-witness.ts) and behind every officer command that
 * trusts a checkpoint (audit/log-state.ts). A smaller tree is a rollback; the same size with
 * another root, or a larger tree whose consistency proof does not verify, is a fork.
 */
import { verifyConsistency, type Checkpoint } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import type { LogSource } from './log-source.js';

/** How a checkpoint relates to the one seen before: same tree, or a larger one extending it. */
export type Extension = 'unchanged' | 'extended';

/**
 * Checks that `cp` extends the tree of `size` entries with root `root` (`what` names that
 * earlier tree in errors); asks `source` for the consistency proof only when `cp` is larger.
 * Throws LOG_ROLLBACK or LOG_FORK naming both tree sizes.
 */
export async function checkExtends(
  source: Pick<LogSource, 'consistency'>,
  size: number,
  root: Uint8Array,
  cp: Checkpoint,
  what: string,
): Promise<Extension> {
  if (cp.treeSize < size)
    throw new ConsoleError(
      'LOG_ROLLBACK',
      `the log shrank: the server's checkpoint has ${cp.treeSize} entries, but ${what} had ${size}`,
    );
  if (cp.treeSize === size) {
    if (!sameRoot(cp.rootHash, root))
      throw new ConsoleError(
        'LOG_FORK',
        `the log forked: at size ${size} the server's root differs from ${what}'s`,
      );
    return 'unchanged';
  }
  if (size === 0) return 'extended';
  const proof = await source.consistency(size, cp.treeSize);
  try {
    verifyConsistency(size, cp.treeSize, proof, root, cp.rootHash);
  } catch (e) {
    throw new ConsoleError(
      'LOG_FORK',
      `the log at size ${cp.treeSize} is not an extension of ${what} (size ${size}): its history was rewritten`,
      { cause: e },
    );
  }
  return 'extended';
}

/**
 * Checks that `cp`, smaller than the tree of `size` entries with root `root` (`what` names it),
 * is a prefix of it: a checkpoint fetched before a newer one was stored (another command on
 * the same profile) is stale but harmless. Asks `source` for the consistency proof from
 * `cp`'s size to `size`. Throws LOG_ROLLBACK naming both sizes when it does not verify (or
 * `cp` is empty): the server shows a shrunk log that was not the earlier one.
 */
export async function checkPrefix(
  source: Pick<LogSource, 'consistency'>,
  size: number,
  root: Uint8Array,
  cp: Checkpoint,
  what: string,
): Promise<void> {
  const shrank = `the log shrank: the server's checkpoint has ${cp.treeSize} entries, but ${what} had ${size}`;
  if (cp.treeSize >= size) throw new RangeError(`checkPrefix: ${cp.treeSize} is not below ${size}`);
  if (cp.treeSize === 0) throw new ConsoleError('LOG_ROLLBACK', shrank);
  const proof = await source.consistency(cp.treeSize, size);
  try {
    verifyConsistency(cp.treeSize, size, proof, cp.rootHash, root);
  } catch (e) {
    throw new ConsoleError('LOG_ROLLBACK', `${shrank}, and its tree is not a prefix of that one`, {
      cause: e,
    });
  }
}

/** True when two root hashes are equal. */
export function sameRoot(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
