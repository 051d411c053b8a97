/**
 * The auditor's witness (`custos verify log`): fetch an organisation's latest signed
 * checkpoint, check its signature against the pinned log key, check that it extends the
 * last checkpoint this witness saw (RFC 9162 consistency proof), optionally cosign it
 * (C2SP tlog-cosignature v1), and only then advance the stored state.
 *
 * What it catches: a server that rewrites history (fork), shrinks the log (rollback),
 * swaps the log key, or shows this witness a different log than another party saw
 * (`compare`: a checkpoint from someone else must be consistent with ours).
 *
 * The state is advanced only after every check passed, so a failed run leaves the
 * witness where it was and a rerun checks the same thing again.
 */
import {
  cosignCheckpoint,
  isCustosError,
  openCheckpoint,
  verifyConsistency,
  type Checkpoint,
  type CosignatureSigner,
} from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { checkExtends, sameRoot } from './log-consistency.js';
import type { LogSource } from './log-source.js';
import type { WitnessState } from './witness-state.js';

/** How the new checkpoint relates to the last one seen. */
export type WitnessOutcome = 'first-seen' | 'unchanged' | 'extended';

/** What one witness run found. */
export interface WitnessResult {
  readonly outcome: WitnessOutcome;
  readonly origin: string;
  readonly verifierKey: string;
  readonly previousTreeSize: number | undefined;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  /** The checkpoint note as fetched (log signature only). */
  readonly checkpoint: string;
  /** The note with this witness's cosignature added, when a cosigner was given. */
  readonly cosigned: string | undefined;
  /** Checkpoints from other parties that were checked against ours. */
  readonly compared: readonly { readonly treeSize: number; readonly relation: 'same' | 'consistent' }[];
  /** The state to store. */
  readonly state: WitnessState;
}

/** Inputs of one run. */
export interface WitnessOptions {
  readonly source: LogSource;
  readonly orgId: string;
  /** The state from the last run; undefined on the first. */
  readonly state: WitnessState | undefined;
  /** A log key the auditor got out of band; pinned on first use when absent. */
  readonly expectedVerifierKey?: string;
  readonly cosigner?: CosignatureSigner;
  /** Checkpoint notes other parties saw (split-view check). */
  readonly compare?: readonly string[];
  readonly now?: () => number;
}

/** Runs the witness once. Throws ConsoleError (LOG_INVALID, LOG_KEY_MISMATCH, LOG_ROLLBACK, LOG_FORK). */
export async function witnessLog(o: WitnessOptions): Promise<WitnessResult> {
  const log = await o.source.log();
  const pinned = o.state?.verifierKey ?? o.expectedVerifierKey;
  if (o.state !== undefined && o.state.orgId !== o.orgId)
    throw new ConsoleError(
      'STATE_INVALID',
      `the state file belongs to organisation ${o.state.orgId}, not ${o.orgId}; use one state file per log`,
    );
  if (
    o.expectedVerifierKey !== undefined &&
    o.state !== undefined &&
    o.expectedVerifierKey !== o.state.verifierKey
  )
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      'the log key given does not match the one pinned in the state file',
    );
  if (pinned !== undefined && log.verifierKey !== pinned)
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      `the server presents log key ${log.verifierKey}, but ${pinned} is pinned: the log key was replaced`,
    );
  if (o.state !== undefined && log.origin !== o.state.origin)
    throw new ConsoleError(
      'LOG_INVALID',
      `the server names the log ${JSON.stringify(log.origin)}, but it was ${JSON.stringify(o.state.origin)}`,
    );
  const cp = open(log.checkpoint, log.verifierKey, log.origin, 'the latest checkpoint');

  const prev = o.state;
  let outcome: WitnessOutcome = 'first-seen';
  if (prev !== undefined) {
    outcome = await checkExtends(
      o.source,
      prev.treeSize,
      prev.rootHash,
      cp,
      'the last checkpoint this witness saw',
    );
  }

  const compared: { treeSize: number; relation: 'same' | 'consistent' }[] = [];
  for (const [i, note] of (o.compare ?? []).entries()) {
    const other = open(note, log.verifierKey, log.origin, `compared checkpoint ${i + 1}`);
    compared.push(await compareWith(o.source, other, cp, i + 1));
  }

  const cosigned = o.cosigner === undefined ? undefined : cosignCheckpoint(log.checkpoint, [o.cosigner]);
  const state: WitnessState = {
    orgId: o.orgId,
    origin: log.origin,
    verifierKey: log.verifierKey,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash,
    checkpoint: log.checkpoint,
    checkedAt: (o.now ?? Date.now)(),
    checks: (prev?.checks ?? 0) + 1,
  };
  return {
    outcome,
    origin: log.origin,
    verifierKey: log.verifierKey,
    previousTreeSize: prev?.treeSize,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash,
    checkpoint: log.checkpoint,
    cosigned,
    compared,
    state,
  };
}

function open(note: string, verifierKey: string, origin: string, what: string): Checkpoint {
  try {
    return openCheckpoint(note, [verifierKey], origin).checkpoint;
  } catch (e) {
    const why = isCustosError(e) ? e.message : 'it does not parse';
    throw new ConsoleError('LOG_INVALID', `${what} does not verify against the log key: ${why}`, {
      cause: e,
    });
  }
}

/** A checkpoint another party saw must be on the same log as ours (either may be ahead). */
async function compareWith(
  source: LogSource,
  other: Checkpoint,
  ours: Checkpoint,
  n: number,
): Promise<{ treeSize: number; relation: 'same' | 'consistent' }> {
  const what = `compared checkpoint ${n}`;
  const [small, big] = other.treeSize <= ours.treeSize ? [other, ours] : [ours, other];
  if (small.treeSize === big.treeSize) {
    if (!sameRoot(small.rootHash, big.rootHash))
      throw new ConsoleError(
        'LOG_FORK',
        `split view: ${what} and the server's checkpoint both have ${small.treeSize} entries but different roots`,
      );
    return { treeSize: other.treeSize, relation: 'same' };
  }
  if (small.treeSize === 0) return { treeSize: other.treeSize, relation: 'consistent' };
  const proof = await source.consistency(small.treeSize, big.treeSize);
  try {
    verifyConsistency(small.treeSize, big.treeSize, proof, small.rootHash, big.rootHash);
  } catch (e) {
    throw new ConsoleError(
      'LOG_FORK',
      `split view: ${what} (size ${other.treeSize}) and the server's checkpoint (size ${ours.treeSize}) are not on one log`,
      { cause: e },
    );
  }
  return { treeSize: other.treeSize, relation: 'consistent' };
}
