/**
 * The last checkpoint of the org's log this officer profile verified, and the one way an
 * officer command trusts a checkpoint the server hands it: signed by the pinned log key
 * (log-pin.ts) AND an extension of that last checkpoint (RFC 9162 consistency proof from the
 * server's public route, the witness's own check in witness/log-consistency.ts).
 *
 * Why: a signature only says the server's key signed it. The operator holds that key, so it
 * could show officers a rewritten or rolled-back log (a split view: one history for officers,
 * another for auditors and devices) and every search, audit, disposition plan check and
 * completeness report would verify against it. With this check a profile follows one
 * append-only history: a smaller tree is LOG_ROLLBACK, the same size with another root or a
 * larger tree that does not extend the stored one is LOG_FORK, and both name the two sizes.
 *
 * Invariants: the state file is read strictly (a damaged one is STATE_INVALID, never a fresh
 * start, which would accept a rewritten log); it is written whole and 0600
 * (witness/witness-state.ts) only after a check passed, and only when the tree grew, so a
 * refused checkpoint changes nothing and a rerun checks the same thing again. Checks of one
 * profile are serialised within the process, so the stored tree never moves backwards
 * under concurrent readers; two processes on one profile can still race (the last
 * write wins, each written checkpoint having passed its check).
 */
import { join } from 'node:path';
import type { Checkpoint } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { checkExtends, sameRoot } from '../witness/log-consistency.js';
import { apiLogSource } from '../witness/log-source.js';
import type { WitnessOutcome } from '../witness/log-witness.js';
import { readWitnessState, writeWitnessState, type WitnessState } from '../witness/witness-state.js';
import { openPinnedCheckpoint, type PinnedLog } from './log-pin.js';

/**
 * The profile file holding the last verified checkpoint (a witness state file; named for
 * `console audit`, which kept it first).
 */
export const PROFILE_LOG_STATE_FILE = 'audit-log-state.json';
/**
 * The officer-list check kept its own state before every command shared one: a profile
 * without {@link PROFILE_LOG_STATE_FILE} starts from it rather than from nothing.
 */
const EARLIER_LOG_STATE_FILE = 'officers-log-state.json';

/** A checkpoint this profile now trusts, and how it relates to the one it trusted before. */
export interface TrustedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** `first-seen`: the profile had none (trust on first use, as the log key's pin). */
  readonly outcome: WitnessOutcome;
  readonly previousTreeSize: number | undefined;
}

/** The in-process queue of checks per state file (see the invariants above). */
const queues = new Map<string, Promise<unknown>>();

/** The profile's last verified checkpoint; undefined before the first. */
export function readProfileLogState(
  session: Pick<OfficerSession, 'dir' | 'orgId'>,
): WitnessState | undefined {
  const state =
    readWitnessState(join(session.dir, PROFILE_LOG_STATE_FILE)) ??
    readWitnessState(join(session.dir, EARLIER_LOG_STATE_FILE));
  if (state !== undefined && state.orgId !== session.orgId)
    throw new ConsoleError(
      'STATE_INVALID',
      `${PROFILE_LOG_STATE_FILE} belongs to organisation ${state.orgId}, not this profile's ${session.orgId}`,
    );
  return state;
}

/**
 * Opens `note` with the pinned log key (LOG_INVALID) and checks it extends the last
 * checkpoint this profile verified (LOG_ROLLBACK, LOG_FORK; LOG_KEY_MISMATCH when the state
 * was kept under another key); then, if the tree grew, stores it. `what` names the answer
 * the note came with.
 */
export async function trustCheckpoint(
  session: Pick<OfficerSession, 'dir' | 'orgId' | 'api'>,
  log: PinnedLog,
  note: string,
  what: string,
): Promise<TrustedCheckpoint> {
  const cp = openPinnedCheckpoint(note, log, what);
  const path = join(session.dir, PROFILE_LOG_STATE_FILE);
  const run = (queues.get(path) ?? Promise.resolve()).then(
    () => advance(session, log, cp, note, what),
    () => advance(session, log, cp, note, what),
  );
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

async function advance(
  session: Pick<OfficerSession, 'dir' | 'orgId' | 'api'>,
  log: PinnedLog,
  cp: Checkpoint,
  note: string,
  what: string,
): Promise<TrustedCheckpoint> {
  const prev = readProfileLogState(session);
  if (prev !== undefined && (prev.verifierKey !== log.verifierKey || prev.origin !== log.origin))
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      `${PROFILE_LOG_STATE_FILE} was kept under another log key or origin than the pinned one: stop and compare with the other officers`,
    );
  if (prev !== undefined && prev.treeSize === cp.treeSize && sameRoot(prev.rootHash, cp.rootHash))
    return { checkpoint: cp, outcome: 'unchanged', previousTreeSize: prev.treeSize };
  const outcome =
    prev === undefined
      ? 'first-seen'
      : await checkExtends(
          apiLogSource(session.api, session.orgId),
          prev.treeSize,
          prev.rootHash,
          cp,
          `the last checkpoint this profile verified (${PROFILE_LOG_STATE_FILE})`,
        ).catch((e: unknown) => {
          throw e instanceof ConsoleError
            ? new ConsoleError(e.code, `${what}: ${e.message}`, { cause: e })
            : e;
        });
  writeWitnessState(join(session.dir, PROFILE_LOG_STATE_FILE), {
    orgId: session.orgId,
    origin: log.origin,
    verifierKey: log.verifierKey,
    treeSize: cp.treeSize,
    rootHash: cp.rootHash,
    checkpoint: note,
    checkedAt: Date.now(),
    checks: (prev?.checks ?? 0) + 1,
  });
  return { checkpoint: cp, outcome, previousTreeSize: prev?.treeSize };
}
