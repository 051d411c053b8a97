/**
 * Supervision review (FINRA 3110, docs/officers.md "Daily review"): lexicon rules held as
 * blind tokens per bucket, the queue of records waiting for review, each org's sampling
 * setting, and the index of the log's officer and admin acts (`custos console audit`).
 * The server never holds a rule's terms nor a decision's note in the clear. Every query
 * filters on the org id.
 */
import type { DeviceId, OrgId } from '../ids.js';
import { asBuffer, insertAll } from './log-stores.js';
import type { AuditEvent, AuditKind } from './records.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { allIn, sql, type SqlExecutor } from './sql.js';

/** A review decision (FINRA 3110(b)(4): the action taken). */
export const REVIEW_DECISIONS = ['cleared', 'escalated', 'violation'] as const;
/** One of {@link REVIEW_DECISIONS}. */
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** A lexicon rule's public part: a label, how many terms, who made it. */
export interface ReviewRule {
  readonly ruleId: string;
  /** The officer's label; visible to the server (docs/officers.md says to keep it neutral). */
  readonly name: string;
  readonly terms: number;
  readonly createdBy: DeviceId;
  readonly createdAt: number;
  /** The terms sealed to the officers (opaque here; console standing-criteria.ts), or null. */
  readonly sealed?: Buffer | null;
}

/** One term of a rule in one bucket: the blind tokens of its words (a record matches when it carries all). */
export interface RuleTerm {
  readonly bucketId: string;
  readonly term: number;
  /** Concatenated 16-byte tokens. */
  readonly tokens: Buffer;
}

/** A rule term as the indexer hook matches it. */
export interface ActiveRuleTerm extends RuleTerm {
  readonly ruleId: string;
}

/** A record to queue, with why. */
export interface NewReviewItem {
  readonly itemId: string;
  readonly logIndex: number;
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly bucketId: string;
  readonly sampled: boolean;
  /** Ids of the rules the record matched (may be empty when sampled). */
  readonly ruleIds: readonly string[];
  readonly queuedAt: number;
}

/** A queued record and, once decided, the decision. */
export interface ReviewItem extends NewReviewItem {
  readonly decision: ReviewDecision | null;
  readonly decidedBy: DeviceId | null;
  readonly decidedAt: number | null;
  /** The note sealed to the record's bucket key (docs/officers.md), null before the decision. */
  readonly note: Buffer | null;
}

/** What recording a decision found. */
export type DecideOutcome = 'decided' | 'unknown' | 'already-decided';

/** An officer or admin act in the org's log: its log index and the entry's time. */
export interface AuditAct {
  readonly logIndex: number;
  readonly at: number;
}

/** Review rules, queue and settings, and the index of audit acts. */
export interface ReviewStore {
  /** Stores a rule and its terms (per bucket). */
  addRule(orgId: OrgId, rule: ReviewRule, terms: readonly RuleTerm[]): Promise<void>;
  /** Adds an active rule's terms for buckets it does not cover yet (callers check both). */
  addRuleTerms(orgId: OrgId, ruleId: string, terms: readonly RuleTerm[]): Promise<void>;
  /** Active rules, oldest first, with the buckets each has tokens for. */
  listRules(orgId: OrgId): Promise<(ReviewRule & { readonly buckets: readonly string[] })[]>;
  /** Marks a rule removed (its tokens are deleted); false when unknown or already removed. */
  removeRule(orgId: OrgId, ruleId: string, at: number): Promise<boolean>;
  /** Replaces an active rule's sealed terms (re-sealed to the current officers); false when no such rule. */
  setRuleSealed(orgId: OrgId, ruleId: string, sealed: Buffer): Promise<boolean>;
  /** The terms of active rules with tokens for these buckets (indexer hook). */
  activeTerms(orgId: OrgId, bucketIds: readonly string[]): Promise<ActiveRuleTerm[]>;
  /** Names of these rules, removed ones included. */
  ruleNames(orgId: OrgId, ruleIds: readonly string[]): Promise<Map<string, string>>;
  /** Queues records; one already queued (same log index) is left as it is. */
  queue(orgId: OrgId, items: readonly NewReviewItem[]): Promise<void>;
  /** The oldest undecided item (by log index), or undefined. */
  nextOpen(orgId: OrgId): Promise<ReviewItem | undefined>;
  /** How many items wait for a decision. */
  openCount(orgId: OrgId): Promise<number>;
  /** The item, or undefined (also for another org's item). */
  item(orgId: OrgId, itemId: string): Promise<ReviewItem | undefined>;
  /** Records a decision on an undecided item. */
  decide(
    orgId: OrgId,
    itemId: string,
    d: { decision: ReviewDecision; by: DeviceId; at: number; note: Buffer },
  ): Promise<DecideOutcome>;
  /** The org's sampling rate in parts per million, or undefined when never set. */
  sampleRate(orgId: OrgId): Promise<number | undefined>;
  /** The org's sampling secret, created (from `fresh`) on first use. */
  sampleSecret(orgId: OrgId, fresh: Buffer): Promise<Buffer>;
  /** Sets the sampling rate (parts per million); the secret is kept or created from `fresh`. */
  setSampleRate(orgId: OrgId, ppm: number, fresh: Buffer): Promise<void>;
  /** Records the log indexes of officer and admin acts (indexer hook; repeats are ignored). */
  putActs(orgId: OrgId, acts: readonly AuditAct[]): Promise<void>;
  /** Acts with log index > `after` (null: from the start) and time ≥ `since`, ascending, at most `limit`. */
  acts(orgId: OrgId, after: number | null, since: number, limit: number): Promise<AuditAct[]>;
  /** The audit events recorded at exactly `at` (their documents are matched to log entries by hash). */
  auditEventsAt(orgId: OrgId, at: number): Promise<AuditEvent[]>;
  /** Log indexes of the indexed acts whose entry time is exactly `at`, ascending. */
  actsAt(orgId: OrgId, at: number): Promise<number[]>;
}

interface ItemRow {
  item_id: unknown;
  log_index: unknown;
  device_id: unknown;
  seq: unknown;
  bucket_id: unknown;
  sampled: unknown;
  rule_ids: unknown;
  queued_at: unknown;
  decision: unknown;
  decided_by: unknown;
  decided_at: unknown;
  note: unknown;
}

function itemOf(r: ItemRow): ReviewItem {
  const rules = text(r.rule_ids);
  return {
    itemId: text(r.item_id),
    logIndex: int(r.log_index),
    deviceId: text(r.device_id) as DeviceId,
    seq: int(r.seq),
    bucketId: text(r.bucket_id),
    sampled: int(r.sampled) === 1,
    ruleIds: rules === '' ? [] : rules.split(','),
    queuedAt: int(r.queued_at),
    decision: r.decision === null ? null : (text(r.decision) as ReviewDecision),
    decidedBy: r.decided_by === null ? null : (text(r.decided_by) as DeviceId),
    decidedAt: intOrNull(r.decided_at),
    note: r.note === null ? null : bytes(r.note),
  };
}

/** ReviewStore over SQL. */
export class SqlReviewStore implements ReviewStore {
  constructor(private readonly db: SqlExecutor) {}

  async addRule(orgId: OrgId, rule: ReviewRule, terms: readonly RuleTerm[]): Promise<void> {
    await this.db.run(
      sql`INSERT INTO review_rules (org_id, rule_id, name, terms, created_by, created_at, removed_at, sealed)
        VALUES (${orgId}, ${rule.ruleId}, ${rule.name}, ${rule.terms}, ${rule.createdBy}, ${rule.createdAt}, NULL,
        ${rule.sealed ?? null})`,
    );
    await this.addRuleTerms(orgId, rule.ruleId, terms);
  }

  async addRuleTerms(orgId: OrgId, ruleId: string, terms: readonly RuleTerm[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO review_rule_terms (org_id, bucket_id, rule_id, term, tokens)',
      terms.map((t) => [orgId, t.bucketId, ruleId, t.term, asBuffer(t.tokens)] as const),
    );
  }

  async listRules(orgId: OrgId): Promise<(ReviewRule & { readonly buckets: readonly string[] })[]> {
    const rows = await this.db.all<{
      rule_id: unknown;
      name: unknown;
      terms: unknown;
      created_by: unknown;
      created_at: unknown;
      sealed: unknown;
    }>(
      sql`SELECT rule_id, name, terms, created_by, created_at, sealed FROM review_rules
        WHERE org_id = ${orgId} AND removed_at IS NULL ORDER BY created_at, rule_id`,
    );
    const buckets = await this.db.all<{ rule_id: unknown; bucket_id: unknown }>(
      sql`SELECT DISTINCT rule_id, bucket_id FROM review_rule_terms WHERE org_id = ${orgId}
        ORDER BY rule_id, bucket_id`,
    );
    const by = new Map<string, string[]>();
    for (const b of buckets) {
      const id = text(b.rule_id);
      by.set(id, [...(by.get(id) ?? []), text(b.bucket_id)]);
    }
    return rows.map((r) => ({
      ruleId: text(r.rule_id),
      name: text(r.name),
      terms: int(r.terms),
      createdBy: text(r.created_by) as DeviceId,
      createdAt: int(r.created_at),
      sealed: r.sealed === null || r.sealed === undefined ? null : bytes(r.sealed),
      buckets: by.get(text(r.rule_id)) ?? [],
    }));
  }

  async setRuleSealed(orgId: OrgId, ruleId: string, sealed: Buffer): Promise<boolean> {
    const n = await this.db.run(
      sql`UPDATE review_rules SET sealed = ${sealed}
        WHERE org_id = ${orgId} AND rule_id = ${ruleId} AND removed_at IS NULL`,
    );
    return n === 1;
  }

  async removeRule(orgId: OrgId, ruleId: string, at: number): Promise<boolean> {
    const n = await this.db.run(
      sql`UPDATE review_rules SET removed_at = ${at}
        WHERE org_id = ${orgId} AND rule_id = ${ruleId} AND removed_at IS NULL`,
    );
    if (n === 0) return false;
    // The tokens are of no use once the rule is gone; the name stays for past items.
    await this.db.run(sql`DELETE FROM review_rule_terms WHERE org_id = ${orgId} AND rule_id = ${ruleId}`);
    return true;
  }

  async activeTerms(orgId: OrgId, bucketIds: readonly string[]): Promise<ActiveRuleTerm[]> {
    if (bucketIds.length === 0) return [];
    // Removing a rule deletes its terms, so every stored term belongs to an active rule.
    const rows = await allIn<{ rule_id: unknown; bucket_id: unknown; term: unknown; tokens: unknown }>(
      this.db,
      sql`SELECT rule_id, bucket_id, term, tokens FROM review_rule_terms WHERE org_id = ${orgId} AND bucket_id IN`,
      bucketIds,
    );
    return rows.map((r) => ({
      ruleId: text(r.rule_id),
      bucketId: text(r.bucket_id),
      term: int(r.term),
      tokens: bytes(r.tokens),
    }));
  }

  async ruleNames(orgId: OrgId, ruleIds: readonly string[]): Promise<Map<string, string>> {
    if (ruleIds.length === 0) return new Map();
    const rows = await allIn<{ rule_id: unknown; name: unknown }>(
      this.db,
      sql`SELECT rule_id, name FROM review_rules WHERE org_id = ${orgId} AND rule_id IN`,
      ruleIds,
    );
    return new Map(rows.map((r) => [text(r.rule_id), text(r.name)]));
  }

  async queue(orgId: OrgId, items: readonly NewReviewItem[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO review_items (org_id, item_id, log_index, device_id, seq, bucket_id, sampled, rule_ids, queued_at)',
      items.map(
        (i) =>
          [
            orgId,
            i.itemId,
            i.logIndex,
            i.deviceId,
            i.seq,
            i.bucketId,
            i.sampled ? 1 : 0,
            i.ruleIds.join(','),
            i.queuedAt,
          ] as const,
      ),
      ' ON CONFLICT (org_id, log_index) DO NOTHING',
    );
  }

  async nextOpen(orgId: OrgId): Promise<ReviewItem | undefined> {
    const row = await this.db.get<ItemRow>(
      sql`SELECT item_id, log_index, device_id, seq, bucket_id, sampled, rule_ids, queued_at, decision,
        decided_by, decided_at, note FROM review_items
        WHERE org_id = ${orgId} AND decision IS NULL ORDER BY log_index LIMIT 1`,
    );
    return row === undefined ? undefined : itemOf(row);
  }

  async openCount(orgId: OrgId): Promise<number> {
    const row = await this.db.get<{ n: unknown }>(
      sql`SELECT COUNT(*) AS n FROM review_items WHERE org_id = ${orgId} AND decision IS NULL`,
    );
    return int(row?.n ?? 0);
  }

  async item(orgId: OrgId, itemId: string): Promise<ReviewItem | undefined> {
    const row = await this.db.get<ItemRow>(
      sql`SELECT item_id, log_index, device_id, seq, bucket_id, sampled, rule_ids, queued_at, decision,
        decided_by, decided_at, note FROM review_items WHERE org_id = ${orgId} AND item_id = ${itemId}`,
    );
    return row === undefined ? undefined : itemOf(row);
  }

  async decide(
    orgId: OrgId,
    itemId: string,
    d: { decision: ReviewDecision; by: DeviceId; at: number; note: Buffer },
  ): Promise<DecideOutcome> {
    const n = await this.db.run(
      sql`UPDATE review_items SET decision = ${d.decision}, decided_by = ${d.by}, decided_at = ${d.at},
        note = ${d.note} WHERE org_id = ${orgId} AND item_id = ${itemId} AND decision IS NULL`,
    );
    if (n === 1) return 'decided';
    return (await this.item(orgId, itemId)) === undefined ? 'unknown' : 'already-decided';
  }

  async sampleRate(orgId: OrgId): Promise<number | undefined> {
    const row = await this.db.get<{ sample_ppm: unknown }>(
      sql`SELECT sample_ppm FROM review_settings WHERE org_id = ${orgId}`,
    );
    return row === undefined || row.sample_ppm === null ? undefined : int(row.sample_ppm);
  }

  async sampleSecret(orgId: OrgId, fresh: Buffer): Promise<Buffer> {
    await this.db.run(
      sql`INSERT INTO review_settings (org_id, sample_ppm, sample_secret) VALUES (${orgId}, NULL, ${fresh})
        ON CONFLICT (org_id) DO NOTHING`,
    );
    const row = await this.db.get<{ sample_secret: unknown }>(
      sql`SELECT sample_secret FROM review_settings WHERE org_id = ${orgId}`,
    );
    return bytes(row?.sample_secret);
  }

  async setSampleRate(orgId: OrgId, ppm: number, fresh: Buffer): Promise<void> {
    await this.db.run(
      sql`INSERT INTO review_settings (org_id, sample_ppm, sample_secret) VALUES (${orgId}, ${ppm}, ${fresh})
        ON CONFLICT (org_id) DO UPDATE SET sample_ppm = excluded.sample_ppm`,
    );
  }

  async putActs(orgId: OrgId, acts: readonly AuditAct[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO audit_acts (org_id, log_index, at)',
      acts.map((a) => [orgId, a.logIndex, a.at] as const),
      ' ON CONFLICT (org_id, log_index) DO NOTHING',
    );
  }

  async acts(orgId: OrgId, after: number | null, since: number, limit: number): Promise<AuditAct[]> {
    const rows = await this.db.all<{ log_index: unknown; at: unknown }>(
      sql`SELECT log_index, at FROM audit_acts WHERE org_id = ${orgId} AND log_index > ${after ?? -1}
        AND at >= ${since} ORDER BY log_index LIMIT ${limit}`,
    );
    return rows.map((r) => ({ logIndex: int(r.log_index), at: int(r.at) }));
  }

  async actsAt(orgId: OrgId, at: number): Promise<number[]> {
    const rows = await this.db.all<{ log_index: unknown }>(
      sql`SELECT log_index FROM audit_acts WHERE org_id = ${orgId} AND at = ${at} ORDER BY log_index`,
    );
    return rows.map((r) => int(r.log_index));
  }

  async auditEventsAt(orgId: OrgId, at: number): Promise<AuditEvent[]> {
    const rows = await this.db.all<{
      kind: unknown;
      actor_device_id: unknown;
      subject: unknown;
      detail: unknown;
      at: unknown;
    }>(
      sql`SELECT kind, actor_device_id, subject, detail, at FROM audit_pending
        WHERE org_id = ${orgId} AND at = ${at} ORDER BY seq`,
    );
    return rows.map((r) => ({
      kind: text(r.kind) as AuditKind,
      actorDeviceId: r.actor_device_id === null ? null : (text(r.actor_device_id) as DeviceId),
      subject: text(r.subject),
      detail: r.detail === null ? null : text(r.detail),
      at: int(r.at),
    }));
  }
}
