/**
 * The review hook of the search indexer (docs/officers.md "Daily review"): in the indexer's
 * own transaction, the records of a pass whose blind tokens satisfy a lexicon rule's term,
 * and a deterministic sample of the others, are queued for review; the log indexes of the
 * pass's officer and admin acts are recorded for `custos console audit`.
 *
 * Invariants: it runs inside the pass's transaction, so a queued item commits with the
 * index or not at all, and a re-run pass queues nothing twice (one item per log index).
 * With no rule for the pass's buckets and a zero sampling rate it costs one query.
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { LogEntryType } from '@custos/core';
import { randomIdString, type DeviceId, type OrgId } from '../ids.js';
import type { AuditAct, NewReviewItem } from '../store/review-stores.js';
import type { Stores } from '../store/stores.js';
import { DEFAULT_SAMPLE_PPM, ITEM_ID_BYTES, PPM, SAMPLE_SECRET_BYTES } from './review-defaults.js';

/** Log entry types that record an officer or admin act (listed by `custos console audit`). */
export const ACT_ENTRY_TYPES: ReadonlySet<LogEntryType> = new Set<LogEntryType>([
  'key-event',
  'audit-event',
  'hold',
  'disposition',
]);

/** A record of the pass, as the hook needs it. */
export interface RecordForReview {
  readonly logIndex: number;
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly bucketId: string;
  /** The record's hash, from its log entry (the sampling input). */
  readonly hash: Uint8Array;
  /** When the server accepted it (the log entry's time). */
  readonly time: number;
  /** The header's blind tokens, sorted and unique. */
  readonly tokens: readonly Uint8Array[];
}

const TOKEN_BYTES = 16;
/** Bytes of the HMAC read as the sampling draw: 48 bits, well inside a safe integer. */
const DRAW_BYTES = 6;
const DRAW_RANGE = 2 ** (8 * DRAW_BYTES);
/** Entries of the token prefix filter (the first two bytes of a token). */
const PREFIX_SPACE = 1 << 16;

const keyOf = (t: Uint8Array): string => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('latin1');

/**
 * Whether the record with `hash` is in the sample at `ppm` parts per million: the first 48
 * bits of HMAC-SHA256(secret, hash) as a fraction of 2^48, below ppm / 10^6. Staff cannot
 * predict it: the secret never leaves the server, and the hash covers the record's random
 * session key and salt, so not even its sender knows the hash before sealing it.
 */
export function inSample(secret: Uint8Array | KeyObject, hash: Uint8Array, ppm: number): boolean {
  if (ppm <= 0) return false;
  if (ppm >= PPM) return true;
  const draw = createHmac('sha256', secret).update(hash).digest().readUIntBE(0, DRAW_BYTES);
  return draw < (ppm / PPM) * DRAW_RANGE;
}

/** Queues the pass's records that match a rule or fall in the sample, and records its acts. */
export async function reviewHook(
  tx: Stores,
  orgId: OrgId,
  records: readonly RecordForReview[],
  acts: readonly AuditAct[],
): Promise<number> {
  if (acts.length > 0) await tx.review.putActs(orgId, acts);
  if (records.length === 0) return 0;
  const ppm = (await tx.review.sampleRate(orgId)) ?? DEFAULT_SAMPLE_PPM;
  // A KeyObject once per pass: HMAC with it costs about half of HMAC with raw key bytes.
  const secret =
    ppm > 0 ? createSecretKey(await tx.review.sampleSecret(orgId, randomBytes(SAMPLE_SECRET_BYTES))) : null;
  const buckets = [...new Set(records.map((r) => r.bucketId))];
  // Per bucket: token → the terms (index into `terms`) that need it.
  const terms = await tx.review.activeTerms(orgId, buckets);
  const byBucket = new Map<string, Map<string, number[]>>();
  // A 16-bit prefix filter over every rule token: tokens are HMAC outputs, so almost every
  // record token is rejected by one array read, without building its map key.
  const prefixes = new Uint8Array(PREFIX_SPACE);
  const need: number[] = [];
  terms.forEach((t, i) => {
    let m = byBucket.get(t.bucketId);
    if (m === undefined) byBucket.set(t.bucketId, (m = new Map<string, number[]>()));
    const n = Math.floor(t.tokens.length / TOKEN_BYTES);
    need.push(n);
    for (let k = 0; k < n; k++) {
      const tok = t.tokens.subarray(k * TOKEN_BYTES, (k + 1) * TOKEN_BYTES);
      prefixes[(tok[0]! << 8) | tok[1]!] = 1;
      const key = tok.toString('latin1');
      const l = m.get(key);
      if (l === undefined) m.set(key, [i]);
      else if (!l.includes(i)) l.push(i);
    }
  });
  const items: NewReviewItem[] = [];
  for (const r of records) {
    const ruleIds = new Set<string>();
    const m = byBucket.get(r.bucketId);
    if (m !== undefined) {
      // A record's tokens are unique, so a term matches when every one of its tokens was counted.
      const seen = new Map<number, number>();
      for (const t of r.tokens) {
        if (prefixes[(t[0]! << 8) | t[1]!] === 0) continue;
        for (const i of m.get(keyOf(t)) ?? []) {
          const c = (seen.get(i) ?? 0) + 1;
          seen.set(i, c);
          if (c === need[i]) ruleIds.add(terms[i]!.ruleId);
        }
      }
    }
    const sampled = secret !== null && inSample(secret, r.hash, ppm);
    if (ruleIds.size === 0 && !sampled) continue;
    items.push({
      itemId: randomIdString(ITEM_ID_BYTES),
      logIndex: r.logIndex,
      deviceId: r.deviceId,
      seq: r.seq,
      bucketId: r.bucketId,
      sampled,
      ruleIds: [...ruleIds].sort(),
      queuedAt: r.time,
    });
  }
  if (items.length > 0) await tx.review.queue(orgId, items);
  return items.length;
}
