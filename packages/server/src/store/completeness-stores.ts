/**
 * What the server can say cheaply about the archive's completeness (docs/officers.md,
 * "Completeness and alerts"): per device the records it holds, their highest sequence
 * number and the gaps below it, all from the `archive_records` primary key; the org's
 * completeness policy; and the alert acts waiting in `audit_pending`. Officers do not take
 * this on trust: the console recomputes gaps from the verified log (console/completeness).
 */
import type { DeviceId, OrgId } from '../ids.js';
import type { AuditKind, PendingAuditEntry } from './records.js';
import { bytes, int, text } from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';

/** A device's archive as the server holds it. */
export interface DeviceArchiveSummary {
  readonly deviceId: DeviceId;
  readonly records: number;
  readonly maxSeq: number;
  /** Server time of the newest record. */
  readonly lastReceivedAt: number;
}

/** Missing sequence numbers `from`…`to` (inclusive) of one device. */
export interface SequenceGap {
  readonly deviceId: DeviceId;
  readonly from: number;
  readonly to: number;
}

/** The org's completeness policy and who set it. */
export interface CompletenessPolicyRow {
  /** A device with no archive record for this long is reported silent. */
  readonly silentAfterMs: number;
  /** A relay receipt younger than this is not yet expected to have its archive records. */
  readonly receiptGraceMs: number;
  readonly setBy: DeviceId;
  readonly setAt: number;
}

/** An officer's signed acknowledgement of one completeness finding (core finding-acknowledgement.ts). */
export interface AcknowledgementRow {
  readonly findingId: string;
  /** The finding's state the statement accepts (version 2's `saw`); '' for a statement without one. */
  readonly state: string;
  /** The statement's deterministic CBOR bytes, as the officer signed them. */
  readonly statement: Buffer;
  /** Ed25519 by the officer's signing key over the statement under its domain. */
  readonly signature: Buffer;
  /** The officer device that sent it (the act's actor). */
  readonly deviceId: DeviceId;
  /** Server time of the act (the audit document's `at`). */
  readonly acknowledgedAt: number;
}

/** Completeness queries, the policy setting and finding acknowledgements. */
export interface CompletenessStore {
  /** Every device with at least one record, by device id. */
  deviceSummaries(orgId: OrgId): Promise<DeviceArchiveSummary[]>;
  /** Gaps in every device's sequence (including a missing start at 0), by device then seq; at most `limit`. */
  gaps(orgId: OrgId, limit: number): Promise<SequenceGap[]>;
  /** The policy, or undefined when the defaults apply. */
  policy(orgId: OrgId): Promise<CompletenessPolicyRow | undefined>;
  /** Sets (replaces) the policy. Run in the transaction that records the act. */
  setPolicy(orgId: OrgId, policy: CompletenessPolicyRow): Promise<void>;
  /**
   * Stores an acknowledgement unless the finding already has one accepting the same state; true
   * when stored. Run in the transaction that records the act.
   */
  acknowledge(orgId: OrgId, row: AcknowledgementRow): Promise<boolean>;
  /** The finding's acknowledgement accepting `state` ('' for none), or undefined. */
  acknowledgement(orgId: OrgId, findingId: string, state: string): Promise<AcknowledgementRow | undefined>;
  /**
   * Acknowledgements by finding id and state, after `after` (exclusive; null: from the first);
   * at most `limit`.
   */
  acknowledgements(
    orgId: OrgId,
    after: AcknowledgementKey | null,
    limit: number,
  ): Promise<AcknowledgementRow[]>;
  /** Audit acts whose kind starts with `alert.`, at or after `since`, oldest first; at most `limit`. */
  alerts(orgId: OrgId, since: number, limit: number): Promise<PendingAuditEntry[]>;
}

/** Where an acknowledgement stands in the listing: its finding, then its state. */
export interface AcknowledgementKey {
  readonly findingId: string;
  readonly state: string;
}

interface AcknowledgementColumns {
  readonly finding_id: unknown;
  readonly finding_state: unknown;
  readonly statement: unknown;
  readonly signature: unknown;
  readonly device_id: unknown;
  readonly acknowledged_at: unknown;
}

function acknowledgementOf(r: AcknowledgementColumns): AcknowledgementRow {
  return {
    findingId: text(r.finding_id),
    state: text(r.finding_state),
    statement: bytes(r.statement),
    signature: bytes(r.signature),
    deviceId: text(r.device_id) as DeviceId,
    acknowledgedAt: int(r.acknowledged_at),
  };
}

/** {@link CompletenessStore} over SQLite or PostgreSQL (the same SQL: window functions exist in both). */
export class SqlCompletenessStore implements CompletenessStore {
  constructor(private readonly db: SqlExecutor) {}

  async deviceSummaries(orgId: OrgId): Promise<DeviceArchiveSummary[]> {
    const rows = await this.db.all<{ device_id: unknown; n: unknown; max_seq: unknown; last_at: unknown }>(
      sql`SELECT device_id, COUNT(*) AS n, MAX(seq) AS max_seq, MAX(received_at) AS last_at
        FROM archive_records WHERE org_id = ${orgId} GROUP BY device_id ORDER BY device_id`,
    );
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      records: int(r.n),
      maxSeq: int(r.max_seq),
      lastReceivedAt: int(r.last_at),
    }));
  }

  async gaps(orgId: OrgId, limit: number): Promise<SequenceGap[]> {
    // Each row whose predecessor (by seq, per device) is not seq - 1 ends a gap; the first
    // row of a device has predecessor -1, so a chain not starting at 0 shows as a gap too.
    const rows = await this.db.all<{ device_id: unknown; prev_seq: unknown; seq: unknown }>(
      sql`SELECT device_id, prev_seq, seq FROM (
          SELECT device_id, seq, LAG(seq, 1, -1) OVER (PARTITION BY device_id ORDER BY seq) AS prev_seq
          FROM archive_records WHERE org_id = ${orgId}
        ) AS s WHERE seq <> prev_seq + 1 ORDER BY device_id, seq LIMIT ${limit}`,
    );
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      from: int(r.prev_seq) + 1,
      to: int(r.seq) - 1,
    }));
  }

  async policy(orgId: OrgId): Promise<CompletenessPolicyRow | undefined> {
    const r = await this.db.get<{
      silent_after_ms: unknown;
      receipt_grace_ms: unknown;
      set_by: unknown;
      set_at: unknown;
    }>(
      sql`SELECT silent_after_ms, receipt_grace_ms, set_by, set_at FROM completeness_policy WHERE org_id = ${orgId}`,
    );
    if (r === undefined) return undefined;
    return {
      silentAfterMs: int(r.silent_after_ms),
      receiptGraceMs: int(r.receipt_grace_ms),
      setBy: text(r.set_by) as DeviceId,
      setAt: int(r.set_at),
    };
  }

  async setPolicy(orgId: OrgId, p: CompletenessPolicyRow): Promise<void> {
    await this.db.run(
      sql`INSERT INTO completeness_policy (org_id, silent_after_ms, receipt_grace_ms, set_by, set_at)
        VALUES (${orgId}, ${p.silentAfterMs}, ${p.receiptGraceMs}, ${p.setBy}, ${p.setAt})
        ON CONFLICT (org_id) DO UPDATE SET silent_after_ms = excluded.silent_after_ms,
          receipt_grace_ms = excluded.receipt_grace_ms, set_by = excluded.set_by, set_at = excluded.set_at`,
    );
  }

  async acknowledge(orgId: OrgId, r: AcknowledgementRow): Promise<boolean> {
    const n = await this.db.run(
      sql`INSERT INTO completeness_acknowledgements
        (org_id, finding_id, finding_state, statement, signature, device_id, acknowledged_at)
        VALUES (${orgId}, ${r.findingId}, ${r.state}, ${r.statement}, ${r.signature}, ${r.deviceId}, ${r.acknowledgedAt})
        ON CONFLICT (org_id, finding_id, finding_state) DO NOTHING`,
    );
    return n === 1;
  }

  async acknowledgement(
    orgId: OrgId,
    findingId: string,
    state: string,
  ): Promise<AcknowledgementRow | undefined> {
    const r = await this.db.get<AcknowledgementColumns>(
      sql`SELECT finding_id, finding_state, statement, signature, device_id, acknowledged_at
        FROM completeness_acknowledgements
        WHERE org_id = ${orgId} AND finding_id = ${findingId} AND finding_state = ${state}`,
    );
    return r === undefined ? undefined : acknowledgementOf(r);
  }

  async acknowledgements(
    orgId: OrgId,
    after: AcknowledgementKey | null,
    limit: number,
  ): Promise<AcknowledgementRow[]> {
    const rows = await this.db.all<AcknowledgementColumns>(
      after === null
        ? sql`SELECT finding_id, finding_state, statement, signature, device_id, acknowledged_at
            FROM completeness_acknowledgements WHERE org_id = ${orgId}
            ORDER BY finding_id, finding_state LIMIT ${limit}`
        : sql`SELECT finding_id, finding_state, statement, signature, device_id, acknowledged_at
            FROM completeness_acknowledgements WHERE org_id = ${orgId}
              AND (finding_id > ${after.findingId}
                OR (finding_id = ${after.findingId} AND finding_state > ${after.state}))
            ORDER BY finding_id, finding_state LIMIT ${limit}`,
    );
    return rows.map(acknowledgementOf);
  }

  async alerts(orgId: OrgId, since: number, limit: number): Promise<PendingAuditEntry[]> {
    const rows = await this.db.all<{
      seq: unknown;
      kind: unknown;
      actor_device_id: unknown;
      subject: unknown;
      detail: unknown;
      at: unknown;
    }>(sql`SELECT seq, kind, actor_device_id, subject, detail, at FROM audit_pending
      WHERE org_id = ${orgId} AND kind LIKE 'alert.%' AND at >= ${since} ORDER BY seq LIMIT ${limit}`);
    return rows.map((r) => ({
      orgId,
      seq: int(r.seq),
      kind: text(r.kind) as AuditKind,
      actorDeviceId: r.actor_device_id === null ? null : (text(r.actor_device_id) as DeviceId),
      subject: text(r.subject),
      detail: r.detail === null ? null : text(r.detail),
      at: int(r.at),
    }));
  }
}
