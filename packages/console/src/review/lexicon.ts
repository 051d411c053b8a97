/**
 * Lexicon rules for supervision review (docs/officers.md "Daily review"). A rule is a list
 * of terms — a word or a "phrase" — and matches a record that contains any of them. The
 * server stores each term only as the blind tokens of its words under each bucket's index
 * key (as search derives them), for every current and future bucket this officer holds a
 * wrap of; it never sees a term. The terms also go to the server sealed to every officer
 * (standing-criteria.ts), so officers extend the rule to buckets registered later.
 */
import { tokensForQuery } from '@custos/core';
import { REVIEW_RULES_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { unwrapBucketKey } from '../bucket-key-wrap.js';
import { findOfficerWrap } from '../bucket-inventory.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { sealCriterion } from '../standing-criterion-seal.js';

/** Most terms in a rule (the server's limit). */
export const MAX_LEXICON_TERMS = 32;
/** Most words in one term (the server's limit). */
export const MAX_TERM_WORDS = 16;

/** What adding a rule did. */
export interface AddedRule {
  readonly ruleId: string;
  readonly name: string;
  readonly terms: number;
  /** Buckets the rule has tokens for. */
  readonly buckets: readonly string[];
  /** Current or future buckets this officer holds no wrap of (another officer must add the rule for them). */
  readonly bucketsWithoutWrap: readonly string[];
}

/** A rule as the server lists it. */
export interface LexiconRule {
  readonly ruleId: string;
  readonly name: string;
  readonly terms: number;
  readonly buckets: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
}

const b64 = (t: Uint8Array) => Buffer.from(t).toString('base64url');

/** A neutral default label: the server sees the label, so it should not hint at the terms. */
export function defaultRuleName(now: number): string {
  return `rule-${new Date(now).toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
}

/** Adds a rule matching any of `terms` to every current and future bucket this officer can open. */
export async function addLexiconRule(
  session: OfficerSession,
  terms: readonly string[],
  options: { readonly name?: string; readonly now?: number; readonly onProgress?: (m: string) => void } = {},
): Promise<AddedRule> {
  const now = options.now ?? Date.now();
  if (terms.length === 0) throw new ConsoleError('INVALID_OPTIONS', 'give at least one TERM');
  if (terms.length > MAX_LEXICON_TERMS)
    throw new ConsoleError('INVALID_OPTIONS', `a rule has at most ${MAX_LEXICON_TERMS} terms`);
  const name = options.name ?? defaultRuleName(now);
  const buckets = (await session.serverBuckets()).filter((b) => b.notAfter >= now);
  if (buckets.length === 0)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'no current or future bucket is registered: run custos org buckets --ahead',
    );
  const out: { bucket: string; terms: string[][] }[] = [];
  const noWrap: string[] = [];
  for (const b of buckets) {
    const wrap = await findOfficerWrap(session, b.bucket);
    if (wrap.blob === undefined) {
      noWrap.push(b.bucket);
      options.onProgress?.(`bucket ${b.bucket}: you hold no wrap of it; skipped`);
      continue;
    }
    const keys = await unwrapBucketKey(wrap.blob, session.officer.keys.hpkePrivateKey);
    const perTerm = terms.map((term) => {
      let allOf;
      try {
        allOf = tokensForQuery(keys.indexKey, { text: term }).allOf;
      } catch (e) {
        throw new ConsoleError('INVALID_OPTIONS', `term ${JSON.stringify(term)}: no searchable words`, {
          cause: e,
        });
      }
      if (allOf.length > MAX_TERM_WORDS)
        throw new ConsoleError('INVALID_OPTIONS', `a term has at most ${MAX_TERM_WORDS} words`);
      return allOf.map(b64);
    });
    out.push({ bucket: b.bucket, terms: perTerm });
  }
  if (out.length === 0)
    throw new ConsoleError('INVALID_OPTIONS', 'you hold no wrap of any current or future bucket');
  const sealed = await sealCriterion(session, { kind: 'rule', terms }, name);
  const r = await session.call('POST', `/v1/orgs/${session.orgId}/review/rules`, {
    name,
    terms: terms.length,
    buckets: out,
    sealed: b64(sealed),
  });
  if (typeof r.ruleId !== 'string') throw new ConsoleError('SERVER_REFUSED', 'adding the rule: no ruleId');
  return {
    ruleId: r.ruleId,
    name,
    terms: terms.length,
    buckets: out.map((b) => b.bucket),
    bucketsWithoutWrap: noWrap,
  };
}

/** The org's active rules. */
export async function listLexiconRules(session: OfficerSession): Promise<LexiconRule[]> {
  const r = await session.call('GET', `/v1/orgs/${session.orgId}/review/rules`, undefined, {
    maxAnswerBytes: REVIEW_RULES_ANSWER_LIMIT_BYTES,
  });
  if (!Array.isArray(r.rules)) throw new ConsoleError('SERVER_REFUSED', 'listing rules: no rules');
  return (r.rules as Record<string, unknown>[]).map((x) => {
    if (
      typeof x.ruleId !== 'string' ||
      typeof x.name !== 'string' ||
      !Number.isSafeInteger(x.terms) ||
      !Array.isArray(x.buckets) ||
      typeof x.createdBy !== 'string' ||
      !Number.isSafeInteger(x.createdAt)
    )
      throw new ConsoleError('SERVER_REFUSED', 'listing rules: a rule lacks required fields');
    return {
      ruleId: x.ruleId,
      name: x.name,
      terms: x.terms as number,
      buckets: (x.buckets as unknown[]).map(String),
      createdBy: x.createdBy,
      createdAt: x.createdAt as number,
    };
  });
}

/** Removes a rule (its tokens are deleted on the server; items it queued stay). */
export async function removeLexiconRule(session: OfficerSession, ruleId: string): Promise<number> {
  const r = await session.call(
    'POST',
    `/v1/orgs/${session.orgId}/review/rules/${encodeURIComponent(ruleId)}/removal`,
  );
  if (!Number.isSafeInteger(r.removedAt))
    throw new ConsoleError('SERVER_REFUSED', 'removing the rule: no time');
  return r.removedAt as number;
}
