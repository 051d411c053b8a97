/**
 * `custos console search` (docs/search.md §5): turn a query into blind tokens under each
 * bucket's index key (the officer's own wrap of the bucket holds it — no root unlock), ask
 * the server for matching sealed records of every bucket in one request (newest bucket
 * first; a very long archive in a few), verify and open each hit (verify-hit.ts), keep those
 * that satisfy the query exactly on their plaintext, and page with a cursor that names the
 * bucket and the server's position in it.
 */
import { tokensForQuery, type BlindQueryTokens, type Checkpoint, type EventKind } from '@custos/core';
import { recordsAnswerLimit } from '@custos/client/answer-limits';
import { unwrapBucketKey, type UnwrappedBucketKey } from '../bucket-key-wrap.js';
import { findOfficerWrap } from '../bucket-inventory.js';
import { pinnedLogOf } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession, VerifiedServerBucket } from '../officer-session.js';
import { parseSearchText, textMatches } from './search-text.js';
import { enrolmentKeyChecker, type EnrolmentKeyCheck } from './enrolment-keys.js';
import { verifyHit, type ServerHit, type VerifiedHit } from './verify-hit.js';

/** Largest page the console asks for (the server's maximum). */
export const MAX_CONSOLE_SEARCH_PAGE = 100;
/** Default page. */
export const DEFAULT_CONSOLE_SEARCH_PAGE = 50;
/** Most query tokens the server takes for one bucket. */
const MAX_ALL_OF = 32;
/** Most buckets the server searches in one request (server search-defaults.ts MAX_SEARCH_BUCKETS). */
const MAX_BUCKETS_PER_REQUEST = 16;
/** Most tokens one request carries over all its buckets (server search-defaults.ts MAX_SEARCH_REQUEST_TOKENS). */
const MAX_TOKENS_PER_REQUEST = 1_024;
/** Where the profile pins the org's log key on first search (trust on first use). */
export { SEARCH_LOG_PIN_FILE } from '../audit/log-pin.js';

/** What to search for. Every criterion given must hold. */
export interface OfficerSearchQuery {
  /** Words and "quoted phrases". */
  readonly text?: string;
  readonly participants?: readonly string[];
  readonly conversationId?: string;
  /** First and last instant (ms) of the range; both or neither. */
  readonly from?: number;
  readonly to?: number;
  readonly kinds?: readonly EventKind[];
  readonly matchDiacritics?: boolean;
  readonly matchCase?: boolean;
}

/** Paging and progress. */
export interface OfficerSearchOptions {
  readonly limit?: number;
  /** The `next` of a previous result. */
  readonly cursor?: string;
  readonly onProgress?: (message: string) => void;
  /** Kept between the pages of one whole search (console export), so each page does not fetch and open them again. */
  readonly reuse?: SearchReuse;
}

/**
 * What a caller paging through one whole search keeps between calls: the pinned log, the
 * verified buckets and each bucket's opened keys (null: the officer holds no wrap). Holds
 * key handles: drop it when the search is done.
 */
export interface SearchReuse {
  log?: { readonly origin: string; readonly verifierKey: string };
  buckets?: readonly VerifiedServerBucket[];
  /** Device identity keys checked against their logged enrolments (enrolment-keys.ts). */
  enrolment?: EnrolmentKeyCheck;
  readonly keys: Map<string, UnwrappedBucketKey | null>;
}

/** One conversation's hits, oldest first. */
export interface SearchThread {
  readonly conversationId: string;
  readonly hits: readonly VerifiedHit[];
}

/** A page of verified hits. */
export interface OfficerSearchResult {
  /** Newest first (by log index within a bucket, buckets newest first). */
  readonly hits: readonly VerifiedHit[];
  readonly threads: readonly SearchThread[];
  /** Cursor of the next page, or null after the last. */
  readonly next: string | null;
  readonly bucketsSearched: readonly string[];
  /** Buckets in range this officer holds no wrap of (another officer must search them). */
  readonly bucketsWithoutWrap: readonly string[];
  /** Records the server returned that the exact filter removed. */
  readonly filteredOut: number;
  readonly log: { readonly origin: string; readonly verifierKey: string };
}

interface Cursor {
  readonly b: string;
  readonly c: string | null;
}

function parseCursor(text: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    const o = v as { b?: unknown; c?: unknown };
    if (
      typeof o.b === 'string' &&
      (o.c === null || (typeof o.c === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(o.c)))
    ) {
      return { b: o.b, c: o.c };
    }
  } catch {
    // falls through
  }
  throw new ConsoleError('INVALID_OPTIONS', '--cursor is not a cursor printed by custos console search');
}

const cursorText = (c: Cursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

function overlaps(b: VerifiedServerBucket, q: OfficerSearchQuery): boolean {
  if (q.from === undefined || q.to === undefined) return true;
  return b.notBefore <= q.to && q.from <= b.notAfter;
}

/** True when the opened record satisfies every criterion of `q` exactly, on its plaintext. */
export function exactMatch(h: VerifiedHit, q: OfficerSearchQuery): boolean {
  const body = h.body;
  if (q.kinds !== undefined && q.kinds.length > 0 && !q.kinds.includes(body.kind)) return false;
  if (q.conversationId !== undefined && body.conversationId !== q.conversationId) return false;
  for (const p of q.participants ?? []) if (!body.participants.includes(p) && body.sender !== p) return false;
  if (q.from !== undefined && q.to !== undefined && (body.sentAt < q.from || body.sentAt > q.to))
    return false;
  if (q.text !== undefined && q.text.trim() !== '') {
    return textMatches(body.text ?? '', parseSearchText(q.text), {
      matchDiacritics: q.matchDiacritics === true,
      matchCase: q.matchCase === true,
    });
  }
  return true;
}

/** Groups hits by conversation (conversations by their newest hit first), each oldest first. */
export function threadsOf(hits: readonly VerifiedHit[]): SearchThread[] {
  const by = new Map<string, VerifiedHit[]>();
  for (const h of hits) {
    const l = by.get(h.body.conversationId);
    if (l === undefined) by.set(h.body.conversationId, [h]);
    else l.push(h);
  }
  return [...by.entries()].map(([conversationId, hs]) => ({
    conversationId,
    hits: [...hs].sort((a, b) => a.body.sentAt - b.body.sentAt || a.log.index - b.log.index),
  }));
}

/** A bucket ready to search: this officer's opened keys and the query's tokens under its index key. */
interface BucketTarget {
  readonly bucket: string;
  readonly keys: UnwrappedBucketKey;
  readonly tokens: BlindQueryTokens;
}

/** The server's position in a search: a bucket of the request, and a log index in it (null: its newest). */
interface ServerCursor {
  readonly bucket: string;
  readonly before: string | null;
}

/** This officer's opened keys of `bucket` (null: the officer holds no wrap), kept in `memo` when given. */
async function bucketKeys(
  session: OfficerSession,
  bucket: string,
  memo: SearchReuse | undefined,
): Promise<UnwrappedBucketKey | null> {
  const known = memo?.keys.get(bucket);
  if (known !== undefined) return known;
  const wrap = await findOfficerWrap(session, bucket);
  const keys =
    wrap.blob === undefined ? null : await unwrapBucketKey(wrap.blob, session.officer.keys.hpkePrivateKey);
  memo?.keys.set(bucket, keys);
  return keys;
}

/** The query as blind tokens under one bucket's index key; refuses a query too broad or too long. */
function bucketTokens(keys: UnwrappedBucketKey, query: OfficerSearchQuery): BlindQueryTokens {
  const text = query.text === undefined ? undefined : parseSearchText(query.text).tokenText;
  const tokens = tokensForQuery(keys.indexKey, {
    ...(text === undefined || text === '' ? {} : { text }),
    ...(query.participants === undefined ? {} : { participants: query.participants }),
    ...(query.conversationId === undefined ? {} : { conversationId: query.conversationId }),
    ...(query.from === undefined || query.to === undefined ? {} : { from: query.from, to: query.to }),
    matchDiacritics: query.matchDiacritics === true,
  });
  if (tokens.allOf.length === 0) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'a date range alone is too broad: add words, --participant or --conversation',
    );
  }
  if (tokens.allOf.length > MAX_ALL_OF) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `the query has more than ${MAX_ALL_OF} terms and names; shorten it`,
    );
  }
  return tokens;
}

const tokenCount = (t: BlindQueryTokens): number => t.allOf.length + t.anyOf.flat().length;

/**
 * A search's buckets split into requests, in order, each group opened only when asked for:
 * opening a bucket's key is this officer's wrap found (the profile, else a server listing)
 * and HPKE-opened, so a page the first request fills opens no other bucket's key. A request
 * is one search to the server (one rate-limit token, one audit entry), so a search over a
 * usual archive is one request a page. A group its tokens close has opened the next group's
 * first bucket, which starts the next group. Buckets `open` finds no wrap of (null) are noted,
 * in order, as they are reached.
 */
export class RequestGroups<T extends { readonly bucket: string; readonly tokens: BlindQueryTokens }> {
  /** Every bucket opened so far, in order. */
  readonly opened: T[] = [];
  /** Buckets reached that this officer holds no wrap of, in order. */
  readonly noWrap: string[] = [];
  private reached = 0;
  private carried: T | null = null;

  constructor(
    private readonly buckets: readonly string[],
    private readonly open: (bucket: string) => Promise<T | null>,
  ) {}

  /** Whether buckets are left that no group has searched (perhaps only ones without a wrap). */
  get more(): boolean {
    return this.carried !== null || this.reached < this.buckets.length;
  }

  /** The next request's buckets, opened; empty when none is left. */
  async next(): Promise<T[]> {
    const group: T[] = [];
    let tokens = 0;
    for (;;) {
      const t = this.carried ?? (await this.openNext());
      this.carried = null;
      if (t === undefined) return group;
      const n = tokenCount(t.tokens);
      if (!joinsRequest(group.length, tokens, n)) {
        this.carried = t;
        return group;
      }
      group.push(t);
      tokens += n;
      if (group.length === MAX_BUCKETS_PER_REQUEST) return group;
    }
  }

  /** Opens buckets in order up to the next one this officer holds a wrap of; undefined past the last. */
  private async openNext(): Promise<T | undefined> {
    while (this.reached < this.buckets.length) {
      const bucket = this.buckets[this.reached++]!;
      const target = await this.open(bucket);
      if (target === null) {
        this.noWrap.push(bucket);
        continue;
      }
      this.opened.push(target);
      return target;
    }
    return undefined;
  }
}

/**
 * Whether a bucket of `n` tokens still joins a request of `buckets` buckets and `tokens`
 * tokens: as many buckets as the server searches in one request and their tokens allow.
 */
function joinsRequest(buckets: number, tokens: number, n: number): boolean {
  return buckets === 0 || (buckets < MAX_BUCKETS_PER_REQUEST && tokens + n <= MAX_TOKENS_PER_REQUEST);
}

const b64 = (t: Uint8Array): string => Buffer.from(t).toString('base64url');

/** The body of one search request over `group`, from `at`. */
function searchBody(group: readonly BucketTarget[], limit: number, at: ServerCursor | null): object {
  return {
    buckets: group.map((t) => ({
      bucket: t.bucket,
      tokens: t.tokens.allOf.map(b64),
      ...(t.tokens.anyOf[0] === undefined ? {} : { dates: t.tokens.anyOf[0].map(b64) }),
    })),
    limit,
    ...(at === null
      ? {}
      : { cursor: { bucket: at.bucket, ...(at.before === null ? {} : { before: at.before }) } }),
  };
}

/**
 * Whether the server's `next` lies past `at` in `group`'s order (a later bucket, or lower in
 * the same one): a server that pointed back could otherwise keep the console asking forever.
 */
function advances(group: readonly BucketTarget[], at: ServerCursor | null, next: ServerCursor): boolean {
  const rank = (c: ServerCursor | null): [number, number] =>
    c === null
      ? [0, Infinity]
      : [group.findIndex((t) => t.bucket === c.bucket), c.before === null ? Infinity : Number(c.before)];
  const [ab, ap] = rank(at);
  const [nb, np] = rank(next);
  return nb >= 0 && (nb > ab || (nb === ab && np < ap));
}

/** Runs one page of a search as the officer of `session`. */
export async function officerSearch(
  session: OfficerSession,
  query: OfficerSearchQuery,
  options: OfficerSearchOptions = {},
): Promise<OfficerSearchResult> {
  const limit = options.limit ?? DEFAULT_CONSOLE_SEARCH_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONSOLE_SEARCH_PAGE) {
    throw new ConsoleError('INVALID_OPTIONS', `--limit must be 1–${MAX_CONSOLE_SEARCH_PAGE}`);
  }
  if ((query.from === undefined) !== (query.to === undefined)) {
    throw new ConsoleError('INVALID_OPTIONS', 'a date range needs both --from and --to');
  }
  const progress = options.onProgress ?? (() => undefined);
  const memo = options.reuse;
  const log = memo?.log ?? (await pinnedLogOf(session));
  const registered = memo?.buckets ?? (await session.serverBuckets());
  const enrolment = memo?.enrolment ?? enrolmentKeyChecker(session, log, { revocations: true });
  if (memo !== undefined) {
    memo.log = log;
    memo.buckets = registered;
    memo.enrolment = enrolment;
  }
  const buckets = registered
    .filter((b) => overlaps(b, query))
    .sort((a, b) => b.notBefore - a.notBefore || (a.bucket < b.bucket ? -1 : 1));
  let start = 0;
  let resume: Cursor | null = null;
  if (options.cursor !== undefined) {
    resume = parseCursor(options.cursor);
    const at = resume.b;
    start = buckets.findIndex((b) => b.bucket === at);
    if (start < 0) throw new ConsoleError('INVALID_OPTIONS', '--cursor names a bucket outside this search');
  }
  // Keys are opened a request at a time: a page the first request fills opens no more.
  const remaining = buckets.slice(start).map((b) => b.bucket);
  const groups = new RequestGroups(remaining, async (bucket): Promise<BucketTarget | null> => {
    const keys = await bucketKeys(session, bucket, memo);
    if (keys !== null) return { bucket, keys, tokens: bucketTokens(keys, query) };
    progress(`bucket ${bucket}: you hold no wrap of it; skipped`);
    return null;
  });
  const hits: VerifiedHit[] = [];
  const checkpoints = new Map<string, Checkpoint>();
  let filteredOut = 0;
  let next: Cursor | null = null;
  for (let g = 0; hits.length < limit; g++) {
    const group = await groups.next();
    if (group.length === 0) break;
    let at: ServerCursor | null =
      g === 0 && resume !== null && resume.c !== null && group[0]!.bucket === resume.b
        ? { bucket: resume.b, before: resume.c }
        : null;
    for (;;) {
      const asked = Math.min(MAX_CONSOLE_SEARCH_PAGE, Math.max(limit - hits.length, 10));
      const page = searchPageOf(
        await session.call('POST', `/v1/orgs/${session.orgId}/archive/search`, searchBody(group, asked, at), {
          maxAnswerBytes: recordsAnswerLimit(asked),
        }),
      );
      if (page.next !== null && !advances(group, at, page.next))
        throw new ConsoleError('SERVER_REFUSED', "archive search: the answer's cursor does not move forward");
      let cp = checkpoints.get(page.note);
      if (cp === undefined && page.records.length > 0) {
        cp = (await trustCheckpoint(session, log, page.note, 'the checkpoint of a search answer')).checkpoint;
        checkpoints.set(page.note, cp);
      }
      for (const h of page.records) {
        const target = group.find((t) => t.bucket === h.bucketId);
        if (target === undefined)
          throw new ConsoleError(
            'SERVER_REFUSED',
            `archive search: a record of bucket ${h.bucketId}, which was not searched`,
          );
        const v = await verifyHit(
          h,
          session.orgId,
          target.keys.privateKey,
          { opened: cp!, note: page.note },
          enrolment,
        );
        if (!exactMatch(v, query)) {
          filteredOut++;
          continue;
        }
        hits.push(v);
        if (hits.length === limit) {
          const more = h !== page.records[page.records.length - 1] || page.next !== null || groups.more;
          next = more ? { b: h.bucketId, c: String(h.logIndex) } : null;
          break;
        }
      }
      progress(`buckets ${group.map((t) => t.bucket).join(', ')}: ${hits.length} match(es) so far`);
      if (hits.length === limit || page.next === null) break;
      at = page.next;
    }
  }
  // Buckets after the page's last are left for the next page, which starts at it: those
  // without a wrap too, so each page names them once.
  const upTo = next === null ? remaining.length : remaining.indexOf(next.b) + 1;
  const onPage = new Set(remaining.slice(0, upTo));
  return {
    hits,
    threads: threadsOf(hits),
    next: next === null ? null : cursorText(next),
    bucketsSearched: groups.opened.filter((t) => onPage.has(t.bucket)).map((t) => t.bucket),
    bucketsWithoutWrap: groups.noWrap.filter((b) => onPage.has(b)),
    filteredOut,
    log,
  };
}

/** Shape-checks a search answer: its records as {@link pageOf} does, and its cursor (a bucket and a position). */
export function searchPageOf(r: Record<string, unknown>): {
  records: ServerHit[];
  note: string;
  next: ServerCursor | null;
} {
  const { records, note } = pageOf({ ...r, next: null });
  if (r.next === null) return { records, note, next: null };
  const n = r.next as { bucket?: unknown; before?: unknown } | undefined;
  if (
    typeof n !== 'object' ||
    typeof n.bucket !== 'string' ||
    (n.before !== undefined && (typeof n.before !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(n.before)))
  )
    throw new ConsoleError('SERVER_REFUSED', "archive search: the answer's cursor is malformed");
  return { records, note, next: { bucket: n.bucket, before: n.before ?? null } };
}

/** Shape-checks a records-route answer (a search answer's records too: {@link searchPageOf}). */
export function pageOf(r: Record<string, unknown>): {
  records: ServerHit[];
  note: string;
  next: string | null;
} {
  const cp = r.checkpoint as { note?: unknown } | undefined;
  if (
    !Array.isArray(r.records) ||
    typeof cp?.note !== 'string' ||
    (r.next !== null && typeof r.next !== 'string')
  ) {
    throw new ConsoleError('SERVER_REFUSED', 'archive search: the answer lacks required fields');
  }
  for (const x of r.records as Record<string, unknown>[]) {
    for (const f of ['record', 'hash', 'deviceId', 'bucketId', 'identityKey', 'sessionKey'] as const) {
      if (typeof x[f] !== 'string')
        throw new ConsoleError('SERVER_REFUSED', `archive search: a record lacks ${f}`);
    }
    for (const f of ['logIndex', 'seq', 'receivedAt'] as const) {
      if (!Number.isSafeInteger(x[f]))
        throw new ConsoleError('SERVER_REFUSED', `archive search: a record lacks ${f}`);
    }
    if (!Array.isArray(x.proof))
      throw new ConsoleError('SERVER_REFUSED', 'archive search: a record lacks its proof');
  }
  return { records: r.records as ServerHit[], note: cp.note, next: r.next };
}
