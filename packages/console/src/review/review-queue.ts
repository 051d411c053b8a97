/**
 * The review queue from the reviewer's side (docs/officers.md "Daily review"): the next
 * item, opened and verified like a search hit (hash, bucket key, header, batch signature,
 * inclusion proof in a checkpoint signed by the pinned log key), with a few records of its
 * conversation around it, fetched through blind search of the conversation on that day;
 * and the decision, whose note is sealed to the record's bucket key, so exactly those who
 * can read the record can read the note, and the server keeps only the sealed bytes and
 * their SHA-256 in the log.
 */
import { createHash } from 'node:crypto';
import {
  BucketPublicKey,
  encodeDeterministicCbor,
  tokensForQuery,
  type BucketPrivateKey,
} from '@custos/core';
import { recordsAnswerLimit } from '@custos/client/answer-limits';
import { openBucketKey } from '../bucket-inventory.js';
import { ConsoleError } from '../console-error.js';
import { hpkeOpen, hpkeSeal } from '../hpke-box.js';
import type { OfficerSession } from '../officer-session.js';
import { verifyHit, type ServerHit, type VerifiedHit } from '../search/verify-hit.js';
import { enrolmentKeyChecker, type EnrolmentKeyCheck } from '../search/enrolment-keys.js';
import { pinnedLogOf, type PinnedLog } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';

/** The three decisions FINRA 3110 evidence records. */
export const REVIEW_DECISIONS = ['cleared', 'escalated', 'violation'] as const;
/** One of {@link REVIEW_DECISIONS}. */
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];
/** Records shown before and after the item by default. */
export const DEFAULT_CONTEXT_RECORDS = 3;
/** HPKE info of a sealed review note. */
export const REVIEW_NOTE_INFO = 'custos review-note v1';
/** Longest note, in UTF-8 bytes. */
export const MAX_NOTE_BYTES = 8192;

const DAY_MS = 86_400_000;
/** Records of the item's conversation on its day asked for, to pick the context from. */
const CONTEXT_SEARCH_PAGE = 100;
const ENC_BYTES = 32;

/** A queued item as the server describes it. */
export interface ReviewItemInfo {
  readonly itemId: string;
  readonly logIndex: number;
  readonly deviceId: string;
  readonly seq: number;
  readonly bucketId: string;
  readonly sampled: boolean;
  readonly rules: readonly { readonly ruleId: string; readonly name: string }[];
  readonly queuedAt: number;
}

/** The next item, opened and verified, in its conversation. */
export interface OpenedReviewItem {
  readonly item: ReviewItemInfo;
  readonly record: VerifiedHit;
  /** Verified records of the same conversation around it, oldest first (one copy per message). */
  readonly before: readonly VerifiedHit[];
  readonly after: readonly VerifiedHit[];
  /** Items waiting, this one included. */
  readonly open: number;
  readonly log: PinnedLog;
}

/** A recorded decision. */
export interface RecordedDecision {
  readonly itemId: string;
  readonly decision: ReviewDecision;
  readonly decidedAt: number;
  /** hex SHA-256 of the sealed note, as the audit document in the log states it. */
  readonly noteHash: string;
}

function itemOf(x: Record<string, unknown>): ReviewItemInfo {
  if (
    typeof x.itemId !== 'string' ||
    !Number.isSafeInteger(x.logIndex) ||
    typeof x.deviceId !== 'string' ||
    !Number.isSafeInteger(x.seq) ||
    typeof x.bucketId !== 'string' ||
    typeof x.sampled !== 'boolean' ||
    !Array.isArray(x.rules) ||
    !Number.isSafeInteger(x.queuedAt)
  )
    throw new ConsoleError('SERVER_REFUSED', 'the review item lacks required fields');
  return {
    itemId: x.itemId,
    logIndex: x.logIndex as number,
    deviceId: x.deviceId,
    seq: x.seq as number,
    bucketId: x.bucketId,
    sampled: x.sampled,
    rules: (x.rules as { ruleId?: unknown; name?: unknown }[]).map((r) => ({
      ruleId: String(r.ruleId),
      name: String(r.name),
    })),
    queuedAt: x.queuedAt as number,
  };
}

/** Verifies every record of an archive answer against the pinned log. */
async function verifiedRecords(
  r: Record<string, unknown>,
  session: OfficerSession,
  key: BucketPrivateKey,
  log: PinnedLog,
  enrolment: EnrolmentKeyCheck,
  what: string,
): Promise<VerifiedHit[]> {
  const cp = r.checkpoint as { note?: unknown } | undefined;
  if (!Array.isArray(r.records) || typeof cp?.note !== 'string')
    throw new ConsoleError('SERVER_REFUSED', `${what}: the answer lacks records or checkpoint`);
  if (r.records.length === 0) return [];
  const { checkpoint: opened } = await trustCheckpoint(session, log, cp.note, what);
  const out: VerifiedHit[] = [];
  for (const h of r.records as ServerHit[]) {
    out.push(await verifyHit(h, session.orgId, key, { opened, note: cp.note }, enrolment));
  }
  return out;
}

const order = (a: VerifiedHit, b: VerifiedHit) => a.body.sentAt - b.body.sentAt || a.log.index - b.log.index;

/** The next undecided item, or null with the count when the queue is empty. */
export async function nextReviewItem(
  session: OfficerSession,
  options: { readonly context?: number } = {},
): Promise<OpenedReviewItem | { readonly item: null; readonly open: number }> {
  const around = options.context ?? DEFAULT_CONTEXT_RECORDS;
  const r = await session.call('GET', `/v1/orgs/${session.orgId}/review/next`);
  const open = Number.isSafeInteger(r.open) ? (r.open as number) : 0;
  if (r.item === null || r.item === undefined) return { item: null, open };
  const item = itemOf(r.item as Record<string, unknown>);
  const log = await pinnedLogOf(session);
  // One reading of the audit listing for the item and its context.
  const enrolment = enrolmentKeyChecker(session, log, { revocations: true });
  const keys = await openBucketKey(session, item.bucketId);
  const q = `device=${encodeURIComponent(item.deviceId)}&fromSeq=${item.seq}&limit=1`;
  const got = await verifiedRecords(
    await session.call('GET', `/v1/orgs/${session.orgId}/archive/records?${q}`, undefined, {
      maxAnswerBytes: recordsAnswerLimit(1),
    }),
    session,
    keys.privateKey,
    log,
    enrolment,
    `review item ${item.itemId}`,
  );
  const record = got[0];
  if (record === undefined || record.log.index !== item.logIndex || record.header.seq !== item.seq) {
    throw new ConsoleError(
      'SERVER_REFUSED',
      `review item ${item.itemId}: the server did not return the queued record (log index ${item.logIndex})`,
    );
  }
  let before: VerifiedHit[] = [];
  let after: VerifiedHit[] = [];
  if (around > 0) {
    // The conversation on the record's day, as blind tokens: the server learns only that.
    const day = Math.floor(record.body.sentAt / DAY_MS) * DAY_MS;
    const tokens = tokensForQuery(keys.indexKey, {
      conversationId: record.body.conversationId,
      from: day,
      to: day + DAY_MS - 1,
    });
    const b64 = (t: Uint8Array) => Buffer.from(t).toString('base64url');
    const page = await verifiedRecords(
      await session.call(
        'POST',
        `/v1/orgs/${session.orgId}/archive/search`,
        {
          buckets: [
            { bucket: item.bucketId, tokens: tokens.allOf.map(b64), dates: (tokens.anyOf[0] ?? []).map(b64) },
          ],
          limit: CONTEXT_SEARCH_PAGE,
        },
        { maxAnswerBytes: recordsAnswerLimit(CONTEXT_SEARCH_PAGE) },
      ),
      session,
      keys.privateKey,
      log,
      enrolment,
      `the conversation of review item ${item.itemId}`,
    );
    // One copy per message (sender's and recipients' devices each archive one), not the item's own.
    const seen = new Set<string>([`${record.body.kind}/${record.body.messageId}`]);
    const others = page
      // Delivery and read receipts are not conversation content.
      .filter((h) => h.body.conversationId === record.body.conversationId && h.body.kind !== 'receipt')
      .sort(order)
      .filter((h) => {
        const k = `${h.body.kind}/${h.body.messageId}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    before = others.filter((h) => order(h, record) < 0).slice(-around);
    after = others.filter((h) => order(h, record) > 0).slice(0, around);
  }
  return { item, record, before, after, open, log };
}

function noteAad(orgId: string, itemId: string, decision: ReviewDecision): Uint8Array {
  return encodeDeterministicCbor({ v: 1, typ: 'review-note', org: orgId, item: itemId, dec: decision });
}

/** Records `decision` on `itemId` with `note` sealed to the record's bucket key. */
export async function decideReviewItem(
  session: OfficerSession,
  itemId: string,
  decision: ReviewDecision,
  note: string,
): Promise<RecordedDecision> {
  if (!(REVIEW_DECISIONS as readonly string[]).includes(decision))
    throw new ConsoleError('INVALID_OPTIONS', `--decision must be one of ${REVIEW_DECISIONS.join(', ')}`);
  const text = new TextEncoder().encode(note);
  if (note.trim() === '' || text.length > MAX_NOTE_BYTES)
    throw new ConsoleError('INVALID_OPTIONS', `--note must be 1–${MAX_NOTE_BYTES} bytes of text`);
  const item = itemOf(
    await session.call('GET', `/v1/orgs/${session.orgId}/review/items/${encodeURIComponent(itemId)}`),
  );
  const bucket = (await session.serverBuckets()).find((b) => b.bucket === item.bucketId);
  if (bucket === undefined)
    throw new ConsoleError(
      'BUCKET_INVALID',
      `bucket ${item.bucketId} of review item ${itemId} is not registered`,
    );
  const box = await hpkeSeal(
    await BucketPublicKey.fromBytes(bucket.publicKey),
    REVIEW_NOTE_INFO,
    noteAad(session.orgId, itemId, decision),
    text,
  );
  const sealed = Buffer.concat([box.enc, box.ct]);
  const r = await session.call(
    'POST',
    `/v1/orgs/${session.orgId}/review/items/${encodeURIComponent(itemId)}/decision`,
    { decision, note: sealed.toString('base64url') },
  );
  const noteHash = createHash('sha256').update(sealed).digest('hex');
  if (r.noteHash !== noteHash || !Number.isSafeInteger(r.decidedAt))
    throw new ConsoleError('SERVER_REFUSED', 'the server states another note hash than the note sent');
  return { itemId, decision, decidedAt: r.decidedAt as number, noteHash };
}

/** Opens a decided item's sealed note with the record's bucket key (checks the decision it was sealed with). */
export async function openReviewNote(
  session: OfficerSession,
  itemId: string,
): Promise<{ decision: ReviewDecision; note: string; noteHash: string }> {
  const r = await session.call('GET', `/v1/orgs/${session.orgId}/review/items/${encodeURIComponent(itemId)}`);
  const item = itemOf(r);
  if (typeof r.note !== 'string' || typeof r.decision !== 'string')
    throw new ConsoleError('INVALID_OPTIONS', `review item ${itemId} has no decision yet`);
  const sealed = Buffer.from(r.note, 'base64url');
  const keys = await openBucketKey(session, item.bucketId);
  const plain = await hpkeOpen(
    keys.privateKey,
    REVIEW_NOTE_INFO,
    noteAad(session.orgId, itemId, r.decision as ReviewDecision),
    { enc: sealed.subarray(0, ENC_BYTES), ct: sealed.subarray(ENC_BYTES) },
  );
  return {
    decision: r.decision as ReviewDecision,
    note: new TextDecoder().decode(plain),
    noteHash: createHash('sha256').update(sealed).digest('hex'),
  };
}
