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
 * refused checkpoint changes nothing and a rerun checks the same thing again. Each
 * check-and-write of one profile holds its lock (in-process queue, then the lock file
 * {@link PROFILE_LOG_STATE_LOCK} across processes), so the stored tree never moves backwards
 * and every stored checkpoint extends the one stored before it, whichever commands run at
 * once. A checkpoint smaller than the stored one (fetched before another command stored a
 * newer one) is stale: trusted for the command's reading when it is a prefix of the stored
 * tree (consistency proof from its size), never stored.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Checkpoint } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { checkExtends, checkPrefix, sameRoot } from '../witness/log-consistency.js';
import { apiLogSource } from '../witness/log-source.js';
import type { WitnessOutcome } from '../witness/log-witness.js';
import { readWitnessState, writeWitnessState, type WitnessState } from '../witness/witness-state.js';
import { openPinnedCheckpoint, SEARCH_LOG_PIN_FILE, type PinnedLog } from './log-pin.js';

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
/**
 * The lock file held (created exclusively, holding the pid) while a command checks a
 * checkpoint and writes {@link PROFILE_LOG_STATE_FILE}: without it two processes on one
 * profile each read the state, wait on the network, and write it whole (the last write wins),
 * so a fork one of them accepted, or a smaller tree, could be stored over the other's.
 */
export const PROFILE_LOG_STATE_LOCK = 'audit-log-state.lock';
/** How often a command waiting for another's lock looks again, and for how long in all. */
const LOCK_POLL_MS = 25;
const LOCK_WAIT_MS = 120_000;

/** A checkpoint this profile now trusts, and how it relates to the one it trusted before. */
export interface TrustedCheckpoint {
  readonly checkpoint: Checkpoint;
  /**
   * `first-seen`: the profile had none (trust on first use, as the log key's pin); `stale`:
   * smaller than the stored one and a prefix of it (the stored one is kept).
   */
  readonly outcome: WitnessOutcome | 'stale';
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
 * A warning when the profile has lost its log state, else undefined: it pinned the org's log
 * ({@link SEARCH_LOG_PIN_FILE}; every command that pins it trusts and stores a checkpoint
 * right after) but holds neither state file, so the next checkpoint would be trusted on first
 * use again, silently. Called before a command runs, so a pin the command writes does not
 * count. The profile keeps no other checkpoint to fall back to (an archive copy's state lives
 * in the copy's folder).
 */
export function lostLogStateWarning(dir: string): string | undefined {
  if (!existsSync(join(dir, SEARCH_LOG_PIN_FILE))) return undefined;
  if (existsSync(join(dir, PROFILE_LOG_STATE_FILE)) || existsSync(join(dir, EARLIER_LOG_STATE_FILE)))
    return undefined;
  return `${join(dir, PROFILE_LOG_STATE_FILE)} is missing although this profile pinned the org's log before: the log is trusted from the checkpoint this command sees on, as on first use; compare its tree size with the other officers'`;
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
    () => withStateLock(session.dir, () => advance(session, log, cp, note, what)),
    () => withStateLock(session.dir, () => advance(session, log, cp, note, what)),
  );
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

/**
 * Runs `fn` holding the profile's {@link PROFILE_LOG_STATE_LOCK}: waits while a live process
 * holds it, takes over a lock whose process is gone (a crashed command), and gives up after
 * {@link LOCK_WAIT_MS} with STATE_INVALID naming the file to remove.
 */
async function withStateLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = join(dir, PROFILE_LOG_STATE_LOCK);
  for (let waited = 0; ; waited += LOCK_POLL_MS) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = lockHolder(path);
    if (holder !== undefined && !alive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (waited >= LOCK_WAIT_MS)
      throw new ConsoleError(
        'STATE_INVALID',
        `another command (process ${holder ?? 'unknown'}) has held ${path} for over ${LOCK_WAIT_MS / 1000} s; if no console command runs on this profile, remove that file`,
      );
    await delay(LOCK_POLL_MS);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

/** The pid a lock file names; undefined while it is being written or gone. */
function lockHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while process `pid` exists (EPERM: it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
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
  const source = apiLogSource(session.api, session.orgId);
  const stored = `the last checkpoint this profile verified (${PROFILE_LOG_STATE_FILE})`;
  const named = (e: unknown): never => {
    throw e instanceof ConsoleError ? new ConsoleError(e.code, `${what}: ${e.message}`, { cause: e }) : e;
  };
  if (prev !== undefined && cp.treeSize < prev.treeSize) {
    await checkPrefix(source, prev.treeSize, prev.rootHash, cp, stored).catch(named);
    return { checkpoint: cp, outcome: 'stale', previousTreeSize: prev.treeSize };
  }
  const outcome =
    prev === undefined
      ? 'first-seen'
      : await checkExtends(source, prev.treeSize, prev.rootHash, cp, stored).catch(named);
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
