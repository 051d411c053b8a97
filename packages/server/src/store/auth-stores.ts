/**
 * Bootstrap, enrolment-code, challenge, token and audit-pending stores over any
 * SqlExecutor. One-time secrets are consumed with a guarded UPDATE/DELETE so that two
 * concurrent uses cannot both succeed, on either backend.
 */
import type { ChallengeId, DeviceId, OrgId, UserId } from '../ids.js';
import type {
  AuditEvent,
  AuditKind,
  AuthTokenRecord,
  BootstrapRecord,
  ChallengeRecord,
  ConsumeOutcome,
  NewEnrolmentCode,
  PendingAuditEntry,
} from './records.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';
import type {
  AuditPendingStore,
  AuthChallengeStore,
  AuthTokenStore,
  BootstrapStore,
  EnrolmentCodeStore,
} from './stores.js';

/** BootstrapStore over SQL (a single row with id 1). */
export class SqlBootstrapStore implements BootstrapStore {
  constructor(private readonly db: SqlExecutor) {}

  async get(): Promise<BootstrapRecord | undefined> {
    const row = await this.db.get<{
      token_hash: unknown;
      created_at: unknown;
      consumed_at: unknown;
      org_id: unknown;
    }>(sql`SELECT token_hash, created_at, consumed_at, org_id FROM bootstrap WHERE id = 1`);
    if (row === undefined) return undefined;
    return {
      tokenHash: bytes(row.token_hash),
      createdAt: int(row.created_at),
      consumedAt: intOrNull(row.consumed_at),
      orgId: row.org_id === null ? null : (text(row.org_id) as OrgId),
    };
  }

  async replace(tokenHash: Buffer, createdAt: number): Promise<boolean> {
    const n = await this.db
      .run(sql`INSERT INTO bootstrap (id, token_hash, created_at) VALUES (1, ${tokenHash}, ${createdAt})
      ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at
      WHERE bootstrap.consumed_at IS NULL`);
    return n === 1;
  }

  async consume(tokenHash: Buffer, orgId: OrgId, now: number): Promise<ConsumeOutcome<null>> {
    const n = await this.db.run(sql`UPDATE bootstrap SET consumed_at = ${now}, org_id = ${orgId}
      WHERE id = 1 AND token_hash = ${tokenHash} AND consumed_at IS NULL`);
    if (n === 1) return { status: 'ok', value: null };
    const current = await this.get();
    if (current !== undefined && current.consumedAt !== null && current.tokenHash.equals(tokenHash)) {
      return { status: 'used' };
    }
    return { status: 'unknown' };
  }
}

/** EnrolmentCodeStore over SQL. */
export class SqlEnrolmentCodeStore implements EnrolmentCodeStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(orgId: OrgId, c: NewEnrolmentCode): Promise<void> {
    await this.db
      .run(sql`INSERT INTO enrolment_codes (org_id, code_hash, user_id, created_by, created_at, expires_at)
      VALUES (${orgId}, ${c.codeHash}, ${c.userId}, ${c.createdBy}, ${c.createdAt}, ${c.expiresAt})`);
  }

  async consume(orgId: OrgId, codeHash: Buffer, now: number): Promise<ConsumeOutcome<UserId>> {
    const row = await this.db.get<{ user_id: unknown }>(sql`UPDATE enrolment_codes SET used_at = ${now}
      WHERE org_id = ${orgId} AND code_hash = ${codeHash} AND used_at IS NULL AND expires_at > ${now}
      RETURNING user_id`);
    if (row !== undefined) return { status: 'ok', value: text(row.user_id) as UserId };
    const existing = await this.db.get<{ used_at: unknown }>(
      sql`SELECT used_at FROM enrolment_codes WHERE org_id = ${orgId} AND code_hash = ${codeHash}`,
    );
    if (existing === undefined) return { status: 'unknown' };
    return { status: existing.used_at === null ? 'expired' : 'used' };
  }
}

/** AuthChallengeStore over SQL. */
export class SqlAuthChallengeStore implements AuthChallengeStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(orgId: OrgId, c: ChallengeRecord): Promise<void> {
    await this.db.run(sql`INSERT INTO auth_challenges (org_id, challenge_id, device_id, challenge, expires_at)
      VALUES (${orgId}, ${c.challengeId}, ${c.deviceId}, ${c.challenge}, ${c.expiresAt})`);
  }

  async take(orgId: OrgId, challengeId: ChallengeId): Promise<ChallengeRecord | undefined> {
    const row = await this.db.get<{ device_id: unknown; challenge: unknown; expires_at: unknown }>(
      sql`DELETE FROM auth_challenges WHERE org_id = ${orgId} AND challenge_id = ${challengeId}
        RETURNING device_id, challenge, expires_at`,
    );
    if (row === undefined) return undefined;
    return {
      challengeId,
      deviceId: text(row.device_id) as DeviceId,
      challenge: bytes(row.challenge),
      expiresAt: int(row.expires_at),
    };
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.run(sql`DELETE FROM auth_challenges WHERE expires_at <= ${now}`);
  }
}

/** AuthTokenStore over SQL. */
export class SqlAuthTokenStore implements AuthTokenStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(orgId: OrgId, t: AuthTokenRecord): Promise<void> {
    await this.db.run(sql`INSERT INTO auth_tokens (org_id, token_hash, device_id, created_at, expires_at)
      VALUES (${orgId}, ${t.tokenHash}, ${t.deviceId}, ${t.createdAt}, ${t.expiresAt})`);
  }

  async find(orgId: OrgId, tokenHash: Buffer): Promise<AuthTokenRecord | undefined> {
    const row = await this.db.get<{ device_id: unknown; created_at: unknown; expires_at: unknown }>(
      sql`SELECT device_id, created_at, expires_at FROM auth_tokens WHERE org_id = ${orgId} AND token_hash = ${tokenHash}`,
    );
    if (row === undefined) return undefined;
    return {
      tokenHash,
      deviceId: text(row.device_id) as DeviceId,
      createdAt: int(row.created_at),
      expiresAt: int(row.expires_at),
    };
  }

  async deleteForDevice(orgId: OrgId, deviceId: DeviceId): Promise<number> {
    return this.db.run(sql`DELETE FROM auth_tokens WHERE org_id = ${orgId} AND device_id = ${deviceId}`);
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.run(sql`DELETE FROM auth_tokens WHERE expires_at <= ${now}`);
  }
}

/** AuditPendingStore over SQL. */
export class SqlAuditPendingStore implements AuditPendingStore {
  constructor(private readonly db: SqlExecutor) {}

  async append(orgId: OrgId, e: AuditEvent): Promise<number> {
    const row = await this.db.get<{
      seq: unknown;
    }>(sql`INSERT INTO audit_pending (org_id, kind, actor_device_id,
      subject, detail, at) VALUES (${orgId}, ${e.kind}, ${e.actorDeviceId}, ${e.subject}, ${e.detail}, ${e.at})
      RETURNING seq`);
    return int(row?.seq);
  }

  async list(orgId: OrgId, afterSeq: number, limit: number): Promise<PendingAuditEntry[]> {
    const rows = await this.db.all<{
      seq: unknown;
      kind: unknown;
      actor_device_id: unknown;
      subject: unknown;
      detail: unknown;
      at: unknown;
    }>(sql`SELECT seq, kind, actor_device_id, subject, detail, at FROM audit_pending
      WHERE org_id = ${orgId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`);
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
