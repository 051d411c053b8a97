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
import type { OfficerSession } from '../officer-session.js';
import { listHolds, type ListedHold } from './officer-holds.js';

/** Reads of listing and log before a disagreement stands. */
export const HOLD_CATCH_UP_ATTEMPTS = 5;
/** Wait between those reads. */
const HOLD_CATCH_UP_DELAY_MS = 1_000;

/** The listing, the log, and what still disagrees between them (empty when nothing). */
export interface HoldsWithLog<P> {
  readonly holds: readonly ListedHold[];
  readonly log: VerifiedLog;
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

/**
 * Reads the listing then the log, and again while `disagree(holds, log)` names problems, up
 * to {@link HOLD_CATCH_UP_ATTEMPTS} times; resolves to the last read and its problems.
 */
export async function readHoldsWithLog<P>(
  s: OfficerSession,
  disagree: (holds: readonly ListedHold[], log: VerifiedLog) => readonly P[],
  options: HoldsWithLogOptions = {},
): Promise<HoldsWithLog<P>> {
  const readLog = options.readLog ?? verifiedLogReader(s, options.onProgress);
  for (let attempt = 1; ; attempt++) {
    const holds = await listHolds(s);
    const log = await readLog();
    const problems = disagree(holds, log);
    if (problems.length === 0 || attempt >= HOLD_CATCH_UP_ATTEMPTS) return { holds, log, problems };
    await new Promise((r) => setTimeout(r, options.delayMs ?? HOLD_CATCH_UP_DELAY_MS));
  }
}
