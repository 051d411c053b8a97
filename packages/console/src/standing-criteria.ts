/**
 * Standing criteria — lexicon rules and query or conversation holds — extended to buckets
 * registered after they were made (docs/officers.md "Legal holds", "Lexicon rules"). The
 * server knows a rule or hold only as blind tokens per bucket, and a bucket's tokens need its
 * index key; so the officer who makes one also uploads its criterion sealed to every officer
 * (standing-criterion-seal.ts). Later any officer opens their own seal, derives the tokens
 * under a new bucket's index key (exactly as search does) and registers them
 * (`POST …/review/rules/:ruleId/buckets`, `POST …/holds/:holdId/buckets`); officers added
 * later get a seal by a re-seal first (standing-criteria-reseal.ts). The server sees tokens
 * per bucket, the same leakage as placing the rule or hold there anew.
 */
import { tokensForQuery } from '@custos/core';
import { unwrapBucketKey } from './bucket-key-wrap.js';
import { findOfficerWrap } from './bucket-inventory.js';
import { ConsoleError, isConsoleError } from './console-error.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u } from './profile-files.js';
import { parseSearchText } from './search/search-text.js';
import {
  listStanding,
  nameOf,
  pathOf,
  resealOne,
  RESEAL_STEP,
  type ResealedCriterion,
  type SkippedCriterion,
} from './standing-criteria-reseal.js';
import { openCriterion, type Criterion } from './standing-criterion-seal.js';

/** Most AND'ed tokens per bucket of a hold (the server's limit). */
const MAX_HOLD_TOKENS = 32;

/** What extending did: per rule or hold, the buckets added, and what could not be covered. */
export interface ExtendedCriteria {
  readonly rules: readonly { readonly ruleId: string; readonly buckets: readonly string[] }[];
  readonly holds: readonly { readonly holdId: string; readonly buckets: readonly string[] }[];
  /** Rules and holds re-sealed to officers who lacked a seal (added after they were made). */
  readonly resealed: readonly ResealedCriterion[];
  /** Rules or holds with uncovered buckets this officer could not extend, and why. */
  readonly skipped: readonly SkippedCriterion[];
}

const b64 = (t: Uint8Array): string => Buffer.from(t).toString('base64url');

/**
 * A hold's AND'ed tokens under one bucket's index key (base64url), exactly as search derives
 * them: placing and extending a hold both use this. INVALID_OPTIONS past the server's limit.
 */
export function holdTokensFor(
  indexKey: Parameters<typeof tokensForQuery>[0],
  c: { readonly conversationId: string } | { readonly query: string; readonly matchDiacritics?: boolean },
): string[] {
  const t = tokensForQuery(
    indexKey,
    'query' in c
      ? { text: parseSearchText(c.query).tokenText, matchDiacritics: c.matchDiacritics === true }
      : { conversationId: c.conversationId },
  );
  if (t.allOf.length > MAX_HOLD_TOKENS)
    throw new ConsoleError('INVALID_OPTIONS', `--query has more than ${MAX_HOLD_TOKENS} words; shorten it`);
  return t.allOf.map(b64);
}

/**
 * Extends every active lexicon rule and query or conversation hold to the current and future
 * buckets it does not cover yet and this officer holds a wrap of. First it re-seals each to
 * the listed officers who lack a seal (as `custos console reseal`). Idempotent: a rerun sends
 * nothing for buckets already covered.
 */
export async function extendStandingCriteria(
  s: OfficerSession,
  options: { readonly now?: number; readonly progress?: (m: string) => void } = {},
): Promise<ExtendedCriteria> {
  const now = options.now ?? Date.now();
  const say = options.progress ?? ((): void => undefined);
  const open = (await s.serverBuckets()).filter((b) => b.notAfter >= now).map((b) => b.bucket);
  const keys = new Map<string, Awaited<ReturnType<typeof unwrapBucketKey>> | null>();
  const keyOf = async (bucket: string) => {
    if (!keys.has(bucket)) {
      const wrap = await findOfficerWrap(s, bucket);
      keys.set(
        bucket,
        wrap.blob === undefined ? null : await unwrapBucketKey(wrap.blob, s.officer.keys.hpkePrivateKey),
      );
    }
    return keys.get(bucket)!;
  };
  const skipped: SkippedCriterion[] = [];
  const resealed: ResealedCriterion[] = [];
  const rulesOut: { ruleId: string; buckets: string[] }[] = [];
  const holdsOut: { holdId: string; buckets: string[] }[] = [];
  for (const x of await listStanding(s)) {
    let c: Criterion | null;
    const missing = open.filter((b) => !x.covered.has(b));
    // A criterion whose maker left the officers is skipped with the reason; anything else stops.
    try {
      const r = await resealOne(s, x, say);
      if (r !== null) resealed.push({ id: x.id, kind: x.kind, to: r.to });
      if (missing.length === 0) continue;
      if (x.sealed === null) {
        skipped.push({
          id: x.id,
          why: `made without a sealed criterion: ${x.kind === 'rule' ? 'add the rule' : 'place the hold'} again`,
        });
        continue;
      }
      c = await openCriterion(s, fromB64u(r?.sealed ?? x.sealed), x.kind, x.label, nameOf(x));
      if (c === null) {
        skipped.push({ id: x.id, why: RESEAL_STEP, reseal: true });
        continue;
      }
    } catch (e) {
      if (!isConsoleError(e, 'PROFILE_INVALID')) throw e;
      skipped.push({ id: x.id, why: e.message });
      continue;
    }
    const usable: { bucket: string; key: NonNullable<Awaited<ReturnType<typeof keyOf>>> }[] = [];
    for (const b of missing) {
      const k = await keyOf(b);
      if (k === null)
        skipped.push({ id: x.id, why: `you hold no wrap of bucket ${b}: another officer extends it there` });
      else usable.push({ bucket: b, key: k });
    }
    if (usable.length === 0) continue;
    const names = usable.map((u) => u.bucket);
    if (c.kind === 'rule') {
      const terms = c.terms;
      await s.call('POST', `${pathOf(s, x)}/buckets`, {
        buckets: usable.map((u) => ({
          bucket: u.bucket,
          terms: terms.map((t) => tokensForQuery(u.key.indexKey, { text: t }).allOf.map(b64)),
        })),
      });
      say(`lexicon rule ${x.id}: extended to ${names.join(', ')}`);
      rulesOut.push({ ruleId: x.id, buckets: names });
    } else {
      const hc = c;
      await s.call('POST', `${pathOf(s, x)}/buckets`, {
        buckets: usable.map((u) => ({ bucketId: u.bucket, tokens: holdTokensFor(u.key.indexKey, hc) })),
      });
      say(`legal hold ${x.id}: extended to ${names.join(', ')}`);
      holdsOut.push({ holdId: x.id, buckets: names });
    }
  }
  return { rules: rulesOut, holds: holdsOut, resealed, skipped };
}
