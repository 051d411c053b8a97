/**
 * `custos console hold` (docs/officers.md "Legal holds"): place, list and release legal
 * holds. A query or conversation hold never reaches the server as text: for every bucket
 * this officer holds a wrap of, the console derives the query's blind tokens under the
 * bucket's index key — exactly as `custos console search` does — and sends those, so the
 * server can tell which records a hold covers (their headers carry the same tokens) without
 * learning the words or the conversation id. The criterion also goes to the server sealed to
 * every officer (standing-criteria.ts), so buckets registered later get the hold's tokens too.
 */
import { encodeHoldRelease, holdReleaseMessage, holdReleaseReasonHash, isWellFormedId } from '@custos/core';
import { holdsAnswerLimit } from '@custos/client/answer-limits';
import { unwrapBucketKey, type UnwrappedBucketKey } from '../bucket-key-wrap.js';
import { findOfficerWrap } from '../bucket-inventory.js';
import { ConsoleError } from '../console-error.js';
import { isDateMs, isUint } from '../json-values.js';
import type { OfficerSession } from '../officer-session.js';
import { parseSearchText } from '../search/search-text.js';
import { holdTokensFor } from '../standing-criteria.js';
import { sealCriterion } from '../standing-criterion-seal.js';

/** Holds per listing page. */
const LIST_PAGE = 200;
/** Listing pages read before giving up on a server that never says "done" (1 M holds at most). */
const MAX_LIST_PAGES = 5_000;
/** One UTC day in ms. */
const DAY_MS = 86_400_000;

/** What a new hold covers: exactly one criterion. */
export type HoldCriterion =
  /** A user id, or an address USERID@ORGID of this org. */
  | { readonly custodian: string }
  | { readonly conversationId: string }
  | { readonly query: string; readonly matchDiacritics?: boolean }
  /** UTC days, inclusive: `from` and `to` are the first instants of the first and last day. */
  | { readonly from: number; readonly to: number };

/** A hold as the server lists it. */
export interface HoldListing {
  readonly holdId: string;
  readonly kind: 'custodian' | 'conversation' | 'query' | 'dates';
  readonly matter: string;
  readonly custodian: string | null;
  readonly from: number | null;
  /** Exclusive end (ms). */
  readonly to: number | null;
  readonly buckets: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
  readonly releasedBy: string | null;
  readonly releasedAt: number | null;
  readonly releaseReason: string | null;
  /**
   * The officer's signed release statement (base64url, core hold-release.ts) and its
   * signature; null while active, for a release logged before releases were signed, and from
   * a server older than signed releases (hold-log-check.ts judges them).
   */
  readonly releaseStatement: string | null;
  readonly releaseSignature: string | null;
  /**
   * The detail of the hold's placing act as the server logged it (`kind=query buckets=B
   * tokens=N matter-sha256=…`), which the hold check matches against the act's log entry
   * (hold-scope-search.ts); null when the server does not say (a server before it listed it,
   * and a placing answer).
   */
  readonly placedDetail: string | null;
}

/**
 * A hold as the server lists it, with the users whose devices placed and released it (the
 * server's device directory; officers keep no address book, and the server knows no names).
 */
export interface ListedHold extends HoldListing {
  /** The user of the `createdBy` device; null only for a device the server does not know. */
  readonly createdByUser: string | null;
  /** The user of the `releasedBy` device, or null. */
  readonly releasedByUser: string | null;
}

/** The placed hold and, for token holds, which buckets it covers and which it could not. */
export interface PlacedHold {
  readonly hold: HoldListing;
  /** Buckets whose tokens were sent. */
  readonly bucketsCovered: readonly string[];
  /** Buckets this officer holds no wrap of: their records are not covered by a token hold. */
  readonly bucketsWithoutWrap: readonly string[];
}

const b64 = (t: Uint8Array): string => Buffer.from(t).toString('base64url');

const stringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const uintOrNull = (v: unknown): boolean => v === null || isUint(v);

/**
 * Shape-checks one listed hold; SERVER_REFUSED names what is wrong. Every field the hold-log
 * check and the completeness findings read is checked here: a hold id that is not an id would
 * end up in a finding id and on the officer's terminal, a missing time is not "active", and a
 * time past what a Date can show is no time.
 */
function listingOf(v: unknown): HoldListing {
  const h = v as Record<string, unknown> | null;
  const ok =
    h !== null &&
    typeof h === 'object' &&
    typeof h.holdId === 'string' &&
    ['custodian', 'conversation', 'query', 'dates'].includes(h.kind as string) &&
    typeof h.matter === 'string' &&
    Array.isArray(h.buckets) &&
    typeof h.createdBy === 'string' &&
    isUint(h.createdAt) &&
    stringOrNull(h.custodian) &&
    uintOrNull(h.from) &&
    uintOrNull(h.to) &&
    stringOrNull(h.releasedBy) &&
    uintOrNull(h.releasedAt) &&
    stringOrNull(h.releaseReason);
  if (!ok) throw new ConsoleError('SERVER_REFUSED', 'a listed hold lacks required fields');
  // A server older than signed releases sends neither: no statement, as for an unsigned release.
  const releaseStatement = h.releaseStatement ?? null;
  const releaseSignature = h.releaseSignature ?? null;
  if (!stringOrNull(releaseStatement) || !stringOrNull(releaseSignature))
    throw new ConsoleError(
      'SERVER_REFUSED',
      'a listed hold has a release statement or signature that is not text',
    );
  // A server older than listed placing details sends none: the hold check searches (hold-scope-search.ts).
  const placedDetail = h.placedDetail ?? null;
  if (!stringOrNull(placedDetail))
    throw new ConsoleError('SERVER_REFUSED', 'a listed hold has a placing detail that is not text');
  if (!isWellFormedId(h.holdId))
    throw new ConsoleError('SERVER_REFUSED', 'a listed hold has a malformed hold id');
  if (![h.createdAt, h.from, h.to, h.releasedAt].every((t) => t === null || isDateMs(t)))
    throw new ConsoleError('SERVER_REFUSED', 'a listed hold has a time later than a date can show');
  return {
    ...(h as unknown as HoldListing),
    releaseStatement,
    releaseSignature,
    placedDetail,
  } as HoldListing;
}

/**
 * Shape-checks one hold of the listing; SERVER_REFUSED names what is wrong. A server older
 * than the users in the listing sends none: they are unknown (null), and the devices stay.
 */
function listedOf(v: unknown): ListedHold {
  const h = listingOf(v) as unknown as Record<string, unknown>;
  const createdByUser = h.createdByUser ?? null;
  const releasedByUser = h.releasedByUser ?? null;
  if (!stringOrNull(createdByUser) || !stringOrNull(releasedByUser))
    throw new ConsoleError('SERVER_REFUSED', 'a listed hold names its users with something other than ids');
  return { ...(h as unknown as ListedHold), createdByUser, releasedByUser } as ListedHold;
}

/** The blind tokens of `c` (a query or conversation) per bucket, for every bucket this officer can open. */
async function bucketTokens(
  session: OfficerSession,
  c: { conversationId: string } | { query: string; matchDiacritics?: boolean },
  progress: (m: string) => void,
): Promise<{ buckets: { bucketId: string; tokens: string[] }[]; noWrap: string[] }> {
  const text = 'query' in c ? parseSearchText(c.query).tokenText : undefined;
  if (text !== undefined && text.trim() === '')
    throw new ConsoleError('INVALID_OPTIONS', '--query has no searchable words');
  const buckets: { bucketId: string; tokens: string[] }[] = [];
  const noWrap: string[] = [];
  for (const b of await session.serverBuckets()) {
    const wrap = await findOfficerWrap(session, b.bucket);
    if (wrap.blob === undefined) {
      noWrap.push(b.bucket);
      progress(`bucket ${b.bucket}: you hold no wrap of it; not covered`);
      continue;
    }
    let keys: UnwrappedBucketKey | undefined = await unwrapBucketKey(
      wrap.blob,
      session.officer.keys.hpkePrivateKey,
    );
    try {
      buckets.push({ bucketId: b.bucket, tokens: holdTokensFor(keys.indexKey, c) });
    } finally {
      keys = undefined; // handles only; dropped here
    }
  }
  return { buckets, noWrap };
}

/** Places a hold on `criterion` for `matter`, as the officer of `session`. */
export async function placeHold(
  session: OfficerSession,
  criterion: HoldCriterion,
  matter: string,
  onProgress: (message: string) => void = () => undefined,
): Promise<PlacedHold> {
  if (matter.trim() === '') throw new ConsoleError('INVALID_OPTIONS', '--matter must not be empty');
  let body: Record<string, unknown>;
  let covered: string[] = [];
  let noWrap: string[] = [];
  if ('custodian' in criterion) {
    // USERID or the CLI's address form USERID@ORGID; another org's address is refused here.
    const [userId, orgId] = criterion.custodian.split('@');
    if (orgId !== undefined && orgId !== session.orgId)
      throw new ConsoleError('INVALID_OPTIONS', '--custodian names a user of another organisation');
    body = { kind: 'custodian', custodian: userId };
  } else if ('from' in criterion) {
    if (criterion.to < criterion.from) throw new ConsoleError('INVALID_OPTIONS', '--to is before --from');
    body = { kind: 'dates', from: criterion.from, to: criterion.to + DAY_MS };
  } else {
    const t = await bucketTokens(session, criterion, onProgress);
    noWrap = t.noWrap;
    covered = t.buckets.map((b) => b.bucketId);
    if (t.buckets.length === 0)
      throw new ConsoleError(
        'PROFILE_INVALID',
        'you hold no wrap of any bucket: another officer must place this hold',
      );
    // The criterion itself, sealed to every officer: they extend the hold to later buckets.
    const sealed = await sealCriterion(
      session,
      'query' in criterion
        ? { kind: 'hold', query: criterion.query, matchDiacritics: criterion.matchDiacritics === true }
        : { kind: 'hold', conversationId: criterion.conversationId },
      matter.trim(),
    );
    body = {
      kind: 'query' in criterion ? 'query' : 'conversation',
      buckets: t.buckets,
      sealed: b64(sealed),
    };
  }
  const r = await session.call('POST', `/v1/orgs/${session.orgId}/holds`, { ...body, matter: matter.trim() });
  return { hold: listingOf(r), bucketsCovered: covered, bucketsWithoutWrap: noWrap };
}

/**
 * Every hold of the org, active and released, oldest first, with who placed and released it.
 * A server that answers a cursor it answered before, or never ends, is refused: it would keep
 * this reading (and holding what it read) for ever.
 */
export async function listHolds(session: OfficerSession): Promise<ListedHold[]> {
  const out: ListedHold[] = [];
  const cursors = new Set<string>();
  for (let page = 0, after: string | null = null; ; page++) {
    if (page === MAX_LIST_PAGES)
      throw new ConsoleError('SERVER_REFUSED', `the hold listing did not end after ${MAX_LIST_PAGES} pages`);
    const q: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const r = await session.call('GET', `/v1/orgs/${session.orgId}/holds?limit=${LIST_PAGE}${q}`, undefined, {
      maxAnswerBytes: holdsAnswerLimit(LIST_PAGE),
    });
    const holds = (r as { holds?: unknown }).holds;
    if (!Array.isArray(holds)) throw new ConsoleError('SERVER_REFUSED', 'the hold listing lacks `holds`');
    for (const h of holds) out.push(listedOf(h));
    const next = (r as { next?: unknown }).next;
    if (typeof next !== 'string') break;
    if (cursors.has(next))
      throw new ConsoleError('SERVER_REFUSED', 'the hold listing answered a cursor that does not advance');
    cursors.add(next);
    after = next;
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.holdId < b.holdId ? -1 : 1));
}

/**
 * Releases hold `holdId` with `reason`, as this officer: signs the release statement (core
 * hold-release.ts: this org, the hold, the reason's SHA-256, this officer's index, now) with
 * the officer's signing key and sends it with the reason; the server verifies it and logs it
 * with the act, and every console checks it there. Resolves to the release time.
 */
export async function releaseHold(
  session: OfficerSession,
  holdId: string,
  reason: string,
  now: number = Date.now(),
): Promise<number> {
  const r = reason.trim();
  if (r === '') throw new ConsoleError('INVALID_OPTIONS', '--reason must not be empty');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(holdId))
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'HOLD must be a hold id as `custos console hold list` prints it',
    );
  const statement = encodeHoldRelease({
    orgId: session.orgId,
    holdId,
    reasonSha256: holdReleaseReasonHash(r),
    officerIndex: session.officerIndex,
    at: now,
  });
  const signature = session.officer.keys.signingKey.sign(holdReleaseMessage(statement));
  const answer = await session.call('POST', `/v1/orgs/${session.orgId}/holds/${holdId}/release`, {
    reason: r,
    statement: b64(statement),
    signature: b64(signature),
  });
  const at = (answer as { releasedAt?: unknown }).releasedAt;
  if (typeof at !== 'number')
    throw new ConsoleError('SERVER_REFUSED', 'the release answer lacks `releasedAt`');
  return at;
}
