/**
 * The hold listing and the verified log, read so that they can be compared
 * (hold-log-check.ts): the listing first, then the log, so every listed act can be in it. An
 * act committed moments ago reaches a signed checkpoint about a second later (the integrator
 * runs every 250 ms by default), and a hold placed between the two reads is in the log but
 * not in the listing: while they disagree, both are read again, a few times, before the
 * disagreement is taken for what it is. Those reads are the server's to cause (it decides
 * whether the two agree), so the log is read whole once and then only as far as it grew
 * (verifiedLogReader), and `disagree` should keep what it worked out between reads (a hold
 * check keeps its scope search, hold-scope-search.ts).
 */
import { verifiedLogReader, type VerifiedLog, type VerifiedLogReader } from '../completeness/verified-log.js';
import { readOfficerListHistory, type OfficerListHistory } from '../officer-list-history.js';
import type { OfficerSession } from '../officer-session.js';
import { listHolds, type ListedHold } from './officer-holds.js';

/** Reads of listing and log before a disagreement stands. */
export const HOLD_CATCH_UP_ATTEMPTS = 5;
/** Wait between those reads. */
const HOLD_CATCH_UP_DELAY_MS = 1_000;

/**
 * The officer lists of a read whose listing carries no release statement: nothing asks them
 * (hold-log-check.ts checks only a statement's signature), so no history is read for it.
 */
const NO_SIGNED_RELEASE: OfficerListHistory = {
  at() {
    throw new Error('no release statement was listed: no officer list is needed');
  },
};

/** The listing, the log, the officer lists over it, and what still disagrees between them (empty when nothing). */
export interface HoldsWithLog<P> {
  readonly holds: readonly ListedHold[];
  readonly log: VerifiedLog;
  /** The officer lists in force over the log (release signatures are checked against them; read only when a release is signed). */
  readonly officers: OfficerListHistory;
  readonly problems: readonly P[];
}

/** Options of {@link readHoldsWithLog}. */
export interface HoldsWithLogOptions {
  readonly onProgress?: (message: string) => void;
  /** Wait between reads (tests); default {@link HOLD_CATCH_UP_DELAY_MS}. */
  readonly delayMs?: number;
  /** The run's log reader, when the caller reads the log again later; default a new one. */
  readonly readLog?: VerifiedLogReader;
}

/** {@link HoldsWithLogOptions}, and which problems reading again cannot settle. */
export interface SettledHoldsWithLogOptions<P> extends HoldsWithLogOptions {
  /** A problem a later read cannot change (a release logged without a signature stays so). */
  readonly settled?: (problem: P) => boolean;
}

/**
 * Reads the listing then the log (and the officer lists over it, when a release is signed),
 * and again while `disagree(holds, log, officers)` names problems that a later read may settle
 * (all but those `settled` says are not), up to {@link HOLD_CATCH_UP_ATTEMPTS} times; resolves
 * to the last read and its problems.
 */
export async function readHoldsWithLog<P>(
  s: OfficerSession,
  disagree: (holds: readonly ListedHold[], log: VerifiedLog, officers: OfficerListHistory) => readonly P[],
  options: SettledHoldsWithLogOptions<P> = {},
): Promise<HoldsWithLog<P>> {
  const readLog = options.readLog ?? verifiedLogReader(s, options.onProgress);
  const settled = options.settled ?? (() => false);
  for (let attempt = 1; ; attempt++) {
    const holds = await listHolds(s);
    const log = await readLog();
    const officers = holds.some((h) => h.releaseStatement !== null)
      ? await readOfficerListHistory(s, log.entries)
      : NO_SIGNED_RELEASE;
    const problems = disagree(holds, log, officers);
    if (problems.every(settled) || attempt >= HOLD_CATCH_UP_ATTEMPTS)
      return { holds, log, officers, problems };
    await new Promise((r) => setTimeout(r, options.delayMs ?? HOLD_CATCH_UP_DELAY_MS));
  }
}
