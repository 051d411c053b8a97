/**
 * Legal holds (docs/officers.md "Legal holds"): one row per hold with its matter, what it
 * covers and, once released, who released it, when and why; and for query and conversation
 * holds one row per (hold, bucket) with the blind tokens the console derived under that
 * bucket's index key. The server never sees the query or the conversation id. Every query
 * filters on the org id.
 */
import type { Brand, DeviceId, OrgId, UserId } from '../ids.js';
import { asBuffer, insertAll } from './log-stores.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { CorruptRowError } from './row-checks.js';
import { sql, type SqlExecutor, type SqlValue } from './sql.js';
import type { Page } from './stores.js';

/** A legal hold's id. */
export type HoldId = Brand<string, 'HoldId'>;

/** Size of one blind token in bytes (docs/blind-index.md §3). */
export const HOLD_TOKEN_BYTES = 16;

/** The blind tokens of one bucket that a record must all carry to be covered. */
export interface BucketTokens {
  readonly bucketId: string;
  /** 1–32 tokens, each {@link HOLD_TOKEN_BYTES} bytes; a record must carry all of them. */
  readonly tokens: readonly Uint8Array[];
}

/** What a hold covers. */
export type HoldScope =
  | { readonly kind: 'custodian'; readonly userId: UserId }
  | { readonly kind: 'conversation' | 'query'; readonly buckets: readonly BucketTokens[] }
  | { readonly kind: 'dates'; readonly from: number; readonly to: number };

/** A hold kind. */
export type HoldKind = HoldScope['kind'];

/** The kinds of hold, as stored. */
export const HOLD_KINDS: readonly HoldKind[] = ['custodian', 'conversation', 'query', 'dates'];

/** A new hold. */
export interface NewHold {
  readonly holdId: HoldId;
  readonly matter: string;
  readonly scope: HoldScope;
  readonly createdBy: DeviceId;
  readonly createdAt: number;
  /** A token hold's criterion sealed to the officers (opaque here; console standing-criteria.ts), or null. */
  readonly sealed?: Buffer | null;
}

/** A stored hold; the `buckets` of a token hold are absent unless asked for. */
export interface HoldRecord extends NewHold {
  readonly releasedBy: DeviceId | null;
  readonly releasedAt: number | null;
  readonly releaseReason: string | null;
  /**
   * The officer's signed release (core hold-release.ts) the `hold.release` act commits to;
   * null while active, and for a hold released before releases were signed (migration 33).
   */
  readonly releaseSignature: SignedRelease | null;
}

/** An officer's signed release statement and its signature, kept as evidence consoles verify. */
export interface SignedRelease {
  readonly statement: Buffer;
  readonly signature: Buffer;
}

/**
 * A hold as listed: with the users whose devices placed and released it, read from the
 * devices table (device ids alone name no person; the ids stay, auditors match them against
 * the log). Null only for a device the org does not know (devices are never deleted).
 */
export interface ListedHold extends HoldRecord {
  readonly createdByUser: UserId | null;
  readonly releasedByUser: UserId | null;
  /**
   * The detail of its `hold.create` act as recorded (audit_pending: the act at its creation
   * time naming it), or null when none is. Consoles check it against the act's log entry
   * before using it (console holds/hold-scope-search.ts): a token hold's placing act logs
   * counts only, and this tells a console which counts without a search.
   */
  readonly placedDetail: string | null;
}

/** An archive record as the held-records check sees it (no bytes). */
export interface BucketRecordRef {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/** Which records of a bucket to read: any criterion matching selects a record (OR). */
export interface BucketRecordSelection {
  /** Records of these devices. */
  readonly devices: readonly DeviceId[];
  /** Records received in one of these [from, to) ranges (ms). */
  readonly received: readonly (readonly [number, number])[];
  /** Records at or after this log index; null: none by this criterion. */
  readonly fromLogIndex: number | null;
}

/** How a release attempt ended. */
export type ReleaseOutcome = 'released' | 'unknown' | 'already-released';

/** Holds of one organisation. */
export interface HoldStore {
  /**
   * PostgreSQL: waits for and takes the org's hold lock until the transaction ends (hold
   * creation, release and every held-records read take it). SQLite: no-op (one writer).
   * MUST run inside a transaction.
   */
  lock(orgId: OrgId): Promise<void>;
  /** Stores a new hold (and its bucket tokens). */
  create(orgId: OrgId, hold: NewHold): Promise<void>;
  /** The hold with its bucket tokens, or undefined (also for another org's hold id). */
  get(orgId: OrgId, holdId: HoldId): Promise<HoldRecord | undefined>;
  /**
   * Holds ordered by id, token holds listing their buckets with no tokens (a listing needs
   * counts only), each with the users of the devices that placed and released it.
   */
  list(orgId: OrgId, page: Page<HoldId>): Promise<ListedHold[]>;
  /** Adds a token hold's tokens for buckets it does not cover yet (callers check both). */
  addTokens(orgId: OrgId, holdId: HoldId, buckets: readonly BucketTokens[]): Promise<void>;
  /** Replaces a token hold's sealed criterion (re-sealed to the current officers; callers check the hold). */
  setSealed(orgId: OrgId, holdId: HoldId, sealed: Buffer): Promise<void>;
  /**
   * Marks the hold released, keeping the officer's signed release (null only where tests
   * build a release as it was before signing); `unknown` and `already-released` change nothing.
   */
  release(
    orgId: OrgId,
    holdId: HoldId,
    by: DeviceId,
    at: number,
    reason: string,
    signed?: SignedRelease | null,
  ): Promise<ReleaseOutcome>;
  /**
   * Active holds that can bear on `bucketId`: every custodian and date hold, and the token
   * holds with tokens for this bucket (carrying only this bucket's tokens).
   */
  activeForBucket(orgId: OrgId, bucketId: string): Promise<HoldRecord[]>;
  /** The records of `bucketId` that `selection` selects, ascending by log index. */
  bucketRecords(orgId: OrgId, bucketId: string, selection: BucketRecordSelection): Promise<BucketRecordRef[]>;
}

/** Arbitrary constant naming the per-org hold advisory locks on PostgreSQL ("hold"). */
export const PG_HOLD_LOCK_CLASS = 0x686f6c64;

interface HoldRow {
  hold_id: unknown;
  kind: unknown;
  matter: unknown;
  custodian: unknown;
  from_ms: unknown;
  to_ms: unknown;
  created_by: unknown;
  created_at: unknown;
  released_by: unknown;
  released_at: unknown;
  release_reason: unknown;
  release_statement: unknown;
  release_signature: unknown;
  sealed: unknown;
}

const HOLD_COLUMNS =
  'hold_id, kind, matter, custodian, from_ms, to_ms, created_by, created_at, released_by, released_at, release_reason, release_statement, release_signature, sealed';

/** Concatenated tokens as stored (sorted, so equal sets store equal bytes). */
function packTokens(tokens: readonly Uint8Array[]): Buffer {
  return Buffer.concat([...tokens].map(asBuffer).sort((a, b) => Buffer.compare(a, b)));
}

function unpackTokens(b: Buffer): Buffer[] {
  if (b.length === 0 || b.length % HOLD_TOKEN_BYTES !== 0)
    throw new CorruptRowError('hold tokens: not a whole number of tokens');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += HOLD_TOKEN_BYTES) out.push(b.subarray(i, i + HOLD_TOKEN_BYTES));
  return out;
}

const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : text(v));

function holdOf(r: HoldRow, buckets: readonly BucketTokens[]): HoldRecord {
  const kind = text(r.kind);
  let scope: HoldScope;
  if (kind === 'custodian') scope = { kind, userId: text(r.custodian) as UserId };
  else if (kind === 'dates') scope = { kind, from: int(r.from_ms), to: int(r.to_ms) };
  else if (kind === 'query' || kind === 'conversation') scope = { kind, buckets };
  else throw new CorruptRowError('hold: unknown kind');
  return {
    holdId: text(r.hold_id) as HoldId,
    matter: text(r.matter),
    scope,
    createdBy: text(r.created_by) as DeviceId,
    createdAt: int(r.created_at),
    releasedBy: textOrNull(r.released_by) as DeviceId | null,
    releasedAt: intOrNull(r.released_at),
    releaseReason: textOrNull(r.release_reason),
    releaseSignature:
      r.release_statement === null || r.release_statement === undefined
        ? null
        : { statement: bytes(r.release_statement), signature: bytes(r.release_signature) },
    sealed: r.sealed === null || r.sealed === undefined ? null : bytes(r.sealed),
  };
}

/** HoldStore over SQL. */
export class SqlHoldStore implements HoldStore {
  constructor(private readonly db: SqlExecutor) {}

  async lock(orgId: OrgId): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    await this.db.get(sql`SELECT pg_advisory_xact_lock(${PG_HOLD_LOCK_CLASS}, hashtext(${orgId}))`);
  }

  async create(orgId: OrgId, hold: NewHold): Promise<void> {
    const s = hold.scope;
    const custodian = s.kind === 'custodian' ? s.userId : null;
    const from = s.kind === 'dates' ? s.from : null;
    const to = s.kind === 'dates' ? s.to : null;
    await this.db.run(
      sql`INSERT INTO holds (org_id, hold_id, kind, matter, custodian, from_ms, to_ms, created_by, created_at, sealed)
        VALUES (${orgId}, ${hold.holdId}, ${s.kind}, ${hold.matter}, ${custodian}, ${from}, ${to},
        ${hold.createdBy}, ${hold.createdAt}, ${hold.sealed ?? null})`,
    );
    if (s.kind === 'query' || s.kind === 'conversation') await this.addTokens(orgId, hold.holdId, s.buckets);
  }

  async addTokens(orgId: OrgId, holdId: HoldId, buckets: readonly BucketTokens[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO hold_tokens (org_id, hold_id, bucket_id, tokens)',
      buckets.map((b) => [orgId, holdId, b.bucketId, packTokens(b.tokens)] as const),
    );
  }

  async get(orgId: OrgId, holdId: HoldId): Promise<HoldRecord | undefined> {
    const row = await this.db.get<HoldRow>({
      fragments: [`SELECT ${HOLD_COLUMNS} FROM holds WHERE org_id = `, ' AND hold_id = ', ''],
      values: [orgId, holdId],
    });
    if (row === undefined) return undefined;
    const tokens = await this.db.all<{ bucket_id: unknown; tokens: unknown }>(
      sql`SELECT bucket_id, tokens FROM hold_tokens WHERE org_id = ${orgId} AND hold_id = ${holdId}
        ORDER BY bucket_id`,
    );
    return holdOf(
      row,
      tokens.map((t) => ({ bucketId: text(t.bucket_id), tokens: unpackTokens(bytes(t.tokens)) })),
    );
  }

  async list(orgId: OrgId, page: Page<HoldId>): Promise<ListedHold[]> {
    // The users by two primary-key lookups per listed hold, in the same statement.
    // The placing act's detail by one probe of audit_pending's (org_id, at) index per hold.
    const rows = await this.db.all<
      HoldRow & { created_by_user: unknown; released_by_user: unknown; placed_detail: unknown }
    >({
      fragments: [
        `SELECT h.${HOLD_COLUMNS.replaceAll(', ', ', h.')}, c.user_id AS created_by_user,
        r.user_id AS released_by_user,
        (SELECT a.detail FROM audit_pending a WHERE a.org_id = h.org_id AND a.at = h.created_at
          AND a.kind = 'hold.create' AND a.subject = h.hold_id ORDER BY a.seq LIMIT 1) AS placed_detail
        FROM holds h
        LEFT JOIN devices c ON c.org_id = h.org_id AND c.device_id = h.created_by
        LEFT JOIN devices r ON r.org_id = h.org_id AND r.device_id = h.released_by
        WHERE h.org_id = `,
        ' AND h.hold_id > ',
        ' ORDER BY h.hold_id LIMIT ',
        '',
      ],
      values: [orgId, page.after ?? '', page.limit],
    });
    if (rows.length === 0) return [];
    const first = text(rows[0]!.hold_id);
    const last = text(rows[rows.length - 1]!.hold_id);
    const buckets = await this.db.all<{ hold_id: unknown; bucket_id: unknown }>(
      sql`SELECT hold_id, bucket_id FROM hold_tokens WHERE org_id = ${orgId} AND hold_id >= ${first}
        AND hold_id <= ${last} ORDER BY hold_id, bucket_id`,
    );
    const byHold = new Map<string, BucketTokens[]>();
    for (const b of buckets) {
      const id = text(b.hold_id);
      const list = byHold.get(id) ?? [];
      list.push({ bucketId: text(b.bucket_id), tokens: [] });
      byHold.set(id, list);
    }
    return rows.map((r) => ({
      ...holdOf(r, byHold.get(text(r.hold_id)) ?? []),
      createdByUser: textOrNull(r.created_by_user) as UserId | null,
      releasedByUser: textOrNull(r.released_by_user) as UserId | null,
      placedDetail: textOrNull(r.placed_detail),
    }));
  }

  async setSealed(orgId: OrgId, holdId: HoldId, sealed: Buffer): Promise<void> {
    await this.db.run(
      sql`UPDATE holds SET sealed = ${sealed} WHERE org_id = ${orgId} AND hold_id = ${holdId}`,
    );
  }

  async release(
    orgId: OrgId,
    holdId: HoldId,
    by: DeviceId,
    at: number,
    reason: string,
    signed: SignedRelease | null = null,
  ): Promise<ReleaseOutcome> {
    const n = await this.db.run(
      sql`UPDATE holds SET released_by = ${by}, released_at = ${at}, release_reason = ${reason},
        release_statement = ${signed?.statement ?? null}, release_signature = ${signed?.signature ?? null}
        WHERE org_id = ${orgId} AND hold_id = ${holdId} AND released_at IS NULL`,
    );
    if (n === 1) return 'released';
    const row = await this.db.get(
      sql`SELECT 1 AS x FROM holds WHERE org_id = ${orgId} AND hold_id = ${holdId}`,
    );
    return row === undefined ? 'unknown' : 'already-released';
  }

  async activeForBucket(orgId: OrgId, bucketId: string): Promise<HoldRecord[]> {
    const rows = await this.db.all<HoldRow & { tokens: unknown }>({
      fragments: [
        `SELECT h.${HOLD_COLUMNS.replaceAll(', ', ', h.')}, t.tokens FROM holds h
        LEFT JOIN hold_tokens t ON t.org_id = h.org_id AND t.hold_id = h.hold_id AND t.bucket_id = `,
        ` WHERE h.org_id = `,
        ` AND h.released_at IS NULL
        AND (h.kind IN ('custodian', 'dates') OR t.tokens IS NOT NULL) ORDER BY h.hold_id`,
      ],
      values: [bucketId, orgId],
    });
    return rows.map((r) =>
      holdOf(r, r.tokens === null ? [] : [{ bucketId, tokens: unpackTokens(bytes(r.tokens)) }]),
    );
  }

  async bucketRecords(
    orgId: OrgId,
    bucketId: string,
    selection: BucketRecordSelection,
  ): Promise<BucketRecordRef[]> {
    // Built from fixed text only; every value stays a bound parameter.
    const fragments = ['SELECT device_id, seq, log_index, received_at FROM archive_records WHERE org_id = '];
    const values: SqlValue[] = [orgId];
    const add = (text: string, value: SqlValue): void => {
      fragments[fragments.length - 1] += text;
      fragments.push('');
      values.push(value);
    };
    fragments.push(' AND bucket_id = ');
    values.push(bucketId);
    fragments.push(' AND (1 = 0');
    selection.devices.forEach((d, i) => add(i === 0 ? ' OR device_id IN (' : ', ', d));
    if (selection.devices.length > 0) fragments[fragments.length - 1] += ')';
    for (const [from, to] of selection.received) {
      add(' OR (received_at >= ', from);
      add(' AND received_at < ', to);
      fragments[fragments.length - 1] += ')';
    }
    if (selection.fromLogIndex !== null) add(' OR log_index >= ', selection.fromLogIndex);
    fragments[fragments.length - 1] += ') ORDER BY log_index';
    const rows = await this.db.all<{
      device_id: unknown;
      seq: unknown;
      log_index: unknown;
      received_at: unknown;
    }>({ fragments, values });
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      seq: int(r.seq),
      logIndex: int(r.log_index),
      receivedAt: int(r.received_at),
    }));
  }
}
