/**
 * What an acknowledgement of a revoked device's finding accepted, and whether it still covers
 * the finding (docs/officers.md, "Completeness and alerts"). The finding is the revocation
 * (finding-ids.ts); its state is what the revocation explains, and the officer signs the state
 * they saw with the finding's id (core finding-acknowledgement.ts version 2, `saw`):
 *
 *   unarchived=N,handed-in=FROM-TO:COUNT|none,gaps=COUNT:SHA256|none
 *
 * N receipts from before the revocation with no archive record, the records handed in after it
 * (sequence range and count), and the gap declarations logged after it: their count and the
 * SHA-256 (hex) of their log indexes, ascending, joined with `.` (declarationsDigest). Not the
 * list itself: a stolen device in its hand-in window can declare as many one-record runs as it
 * likes, and a list at 8-digit log indexes passes the state's 400 characters at about 45 of
 * them, after which the finding could never be acknowledged. The digest is compared exactly, as
 * the list was. Statements signed before it name the list (`gaps=I.J…`, strictly ascending);
 * they still count, for that list.
 *
 * An acknowledgement covers a later state when it has no more unarchived receipts (a check with
 * --since, or before more receipts passed the grace period, sees fewer of the same revocation's
 * lost queue; each receipt is also its own `unarchived` finding, acknowledged by its log index,
 * so a count signed too high hides no receipt) and exactly the records handed in and the runs
 * declared lost that the officer saw. Those are claims of a device no longer trusted, shown
 * nowhere else, and the log only adds to them: they are compared for equality, never "within",
 * so a statement signed with a wider range (by a tool other than this console) cannot cover a
 * record a stolen device hands in later. What differs is reported again, naming the
 * acknowledgement and what it did not accept.
 *
 * Acknowledgements of ids from before (`revoked/ORG/DEVICE/N-FROM-TO|N-none[-gapsI.J]`) still
 * count: that id named the same things (a device is revoked once; devicesInLog takes its first
 * `device-revoked` entry), so it is read as the state it named. It did not name how many records
 * were handed in, only their range: that range is compared, as the old id was.
 */
import { createHash } from 'node:crypto';
import type { RevokedDeviceFinding } from './completeness-findings.js';

/** A revoked device's finding as an acknowledgement accepted it (or as it is now). */
export interface RevokedState {
  /** Relay receipts from before the revocation that it never archived. */
  readonly unarchivedReceipts: number;
  /**
   * Records handed in after the revocation: their sequence range and count (null: not recorded,
   * an acknowledgement of an id from before states); null when none.
   */
  readonly handedIn: {
    readonly from: number;
    readonly to: number;
    readonly count: number | null;
  } | null;
  /**
   * Log indexes of the gap declarations logged after the revocation, ascending; null when the
   * acknowledgement signed only their count and digest (`declarationsDigest`).
   */
  readonly declaredAfter: readonly number[] | null;
  /** What an acknowledgement signed of the declarations, when it signed no list. */
  readonly declarationsDigest?: DeclarationsDigest;
}

/** The gap declarations as a statement signs them: how many, and the SHA-256 of their log indexes. */
export interface DeclarationsDigest {
  readonly count: number;
  /** SHA-256 (hex) of the log indexes, ascending, joined with `.` (declarationsDigestOf). */
  readonly sha256: string;
}

const UINT = '(0|[1-9][0-9]{0,14})';
const STATE = new RegExp(
  `^unarchived=${UINT},handed-in=(?:none|${UINT}-${UINT}:${UINT}),gaps=(?:none|${UINT}:([0-9a-f]{64})|(${UINT}(?:\\.${UINT})*))$`,
);
const LEGACY_ID = new RegExp(
  `^revoked/([^/]+)/([^/]+)/${UINT}-(?:none|${UINT}-${UINT})(?:-gaps(${UINT}(?:\\.${UINT})*))?$`,
);

/** The state of `f` now. */
export function revokedState(f: RevokedDeviceFinding): RevokedState {
  return {
    unarchivedReceipts: f.unarchivedReceipts,
    handedIn:
      f.handedIn === null ? null : { from: f.handedIn.from, to: f.handedIn.to, count: f.handedIn.count },
    declaredAfter: f.declaredAfter.map((g) => g.logIndex).sort((a, b) => a - b),
  };
}

/** The digest a statement signs of the declarations at `logIndexes` (ascending). */
export function declarationsDigestOf(logIndexes: readonly number[]): DeclarationsDigest {
  return {
    count: logIndexes.length,
    sha256: createHash('sha256').update(logIndexes.join('.'), 'utf8').digest('hex'),
  };
}

/** What `s` says of its declarations as a statement signs them. */
function digestOf(s: RevokedState): DeclarationsDigest {
  return s.declaredAfter === null ? s.declarationsDigest! : declarationsDigestOf(s.declaredAfter);
}

/**
 * The state as an acknowledgement statement signs it (only states with a count: never an old
 * id's), at most about 180 characters whatever the device declared.
 */
export function formatRevokedState(s: RevokedState): string {
  const h = s.handedIn;
  const handedIn = h === null ? 'none' : `${h.from}-${h.to}:${h.count ?? h.to - h.from + 1}`;
  const d = digestOf(s);
  const gaps = d.count === 0 ? 'none' : `${d.count}:${d.sha256}`;
  return `unarchived=${s.unarchivedReceipts},handed-in=${handedIn},gaps=${gaps}`;
}

/**
 * A signed state read back; null when it is not one this console writes (or wrote: the list of
 * declarations, strictly ascending). One text per state of each form: numbers without leading
 * zeros, a range and count that can hold (1 ≤ COUNT ≤ TO − FROM + 1), a list in order — so an
 * officer cannot acknowledge the same state twice by writing it another way.
 */
export function parseRevokedState(text: string): RevokedState | null {
  const m = STATE.exec(text);
  if (m === null) return null;
  const handedIn = m[2] === undefined ? null : { from: Number(m[2]), to: Number(m[3]), count: Number(m[4]) };
  if (
    handedIn !== null &&
    (handedIn.to < handedIn.from || handedIn.count === 0 || handedIn.count > handedIn.to - handedIn.from + 1)
  )
    return null;
  const unarchivedReceipts = Number(m[1]);
  if (m[5] !== undefined) {
    const count = Number(m[5]);
    if (count === 0) return null;
    return {
      unarchivedReceipts,
      handedIn,
      declaredAfter: null,
      declarationsDigest: { count, sha256: m[6]! },
    };
  }
  const declaredAfter = m[7] === undefined ? [] : m[7].split('.').map(Number);
  if (declaredAfter.some((i, k) => k > 0 && i <= declaredAfter[k - 1]!)) return null;
  return { unarchivedReceipts, handedIn, declaredAfter };
}

/**
 * The org, device and state an acknowledged id from before states named
 * (`revoked/ORG/DEVICE/N-FROM-TO|N-none[-gapsI.J]`); null when `id` is not one.
 */
export function parseLegacyRevokedId(
  id: string,
): { orgId: string; deviceId: string; state: RevokedState } | null {
  const m = LEGACY_ID.exec(id);
  if (m === null) return null;
  const handedIn = m[4] === undefined ? null : { from: Number(m[4]), to: Number(m[5]), count: null };
  if (handedIn !== null && handedIn.to < handedIn.from) return null;
  return {
    orgId: m[1]!,
    deviceId: m[2]!,
    state: {
      unarchivedReceipts: Number(m[3]),
      handedIn,
      declaredAfter: m[6] === undefined ? [] : m[6].split('.').map(Number),
    },
  };
}

const seqs = (h: { from: number; to: number }): string =>
  h.from === h.to ? `${h.from}` : `${h.from}–${h.to}`;

/** Records handed in, in words: `2 record(s) (sequence 5–6)`, `sequence 5–6` when the count was not recorded, `none`. */
function handedInText(h: RevokedState['handedIn']): string {
  if (h === null) return 'none';
  return h.count === null ? `sequence ${seqs(h)}` : `${h.count} record(s) (sequence ${seqs(h)})`;
}

/** Whether `now` holds the same records handed in as `accepted` (the count only when it was recorded). */
function sameHandedIn(accepted: RevokedState['handedIn'], now: RevokedState['handedIn']): boolean {
  if (accepted === null || now === null) return accepted === now;
  return (
    accepted.from === now.from &&
    accepted.to === now.to &&
    (accepted.count === null || accepted.count === now.count)
  );
}

/**
 * What of `now` the acknowledgement that accepted `accepted` does not cover, one phrase each;
 * empty when it covers all of it: no more unarchived receipts, the same records handed in and
 * the same declarations.
 */
export function beyondAccepted(accepted: RevokedState, now: RevokedState): string[] {
  const out: string[] = [];
  if (now.unarchivedReceipts > accepted.unarchivedReceipts)
    out.push(`${now.unarchivedReceipts} unarchived receipt(s), ${accepted.unarchivedReceipts} acknowledged`);
  if (!sameHandedIn(accepted.handedIn, now.handedIn))
    out.push(`handed in ${handedInText(now.handedIn)}, acknowledged ${handedInText(accepted.handedIn)}`);
  out.push(...declarationsBeyond(accepted, now.declaredAfter ?? []));
  return out;
}

/** What of the declarations `now` (log indexes, ascending) the acknowledgement that accepted `accepted` does not cover. */
function declarationsBeyond(accepted: RevokedState, now: readonly number[]): string[] {
  if (accepted.declaredAfter === null) {
    // Only the count and digest were signed: the same declarations or not, no more can be said.
    const signed = accepted.declarationsDigest!;
    const d = declarationsDigestOf(now);
    if (d.count === signed.count && d.sha256 === signed.sha256) return [];
    return [
      `${now.length} gap declaration(s) after the revocation${now.length === 0 ? '' : ` (at log ${now.join(', ')})`}, ` +
        `not the ${signed.count} acknowledged`,
    ];
  }
  const acceptedList = accepted.declaredAfter;
  const out: string[] = [];
  const added = now.filter((i) => !acceptedList.includes(i));
  if (added.length > 0)
    out.push(`gap declaration(s) at log ${added.join(', ')} after the revocation, not acknowledged`);
  const absent = acceptedList.filter((i) => !now.includes(i));
  if (absent.length > 0)
    out.push(
      `acknowledged gap declaration(s) at log ${absent.join(', ')}, which the log does not hold after the revocation`,
    );
  return out;
}

/** The accepted declarations in words, for the acknowledged finding's line ('' for none). */
function declarationsText(s: RevokedState): string {
  if (s.declaredAfter === null) return `, ${s.declarationsDigest!.count} gap declaration(s)`;
  return s.declaredAfter.length === 0 ? '' : `, gap declaration(s) at log ${s.declaredAfter.join(', ')}`;
}

/** The accepted state in words, for the acknowledged finding's line. */
export function acceptedText(s: RevokedState): string {
  const h = s.handedIn;
  return (
    `${s.unarchivedReceipts} unarchived receipt(s)` +
    (h === null ? '' : `, handed in ${h.count === null ? '' : `${h.count} record(s), `}sequence ${seqs(h)}`) +
    declarationsText(s)
  );
}
