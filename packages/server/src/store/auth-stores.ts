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
  BootstrapConsumeOutcome,
  BootstrapRecord,
  ChallengeRecord,
  ConsumeOutcome,
  EnrolmentCodeRecord,
  NewEnrolmentCode,
  PendingAuditEntry,
} from './records.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { toDevice, toUser } from './directory-stores.js';
import { sql, type SqlExecutor } from './sql.js';
import type {
  AuditPendingStore,
  AuthChallengeStore,
  AuthSession,
  AuthTokenStore,
  BootstrapStore,
  EnrolmentCodeStore,
} from './stores.js';

interface BootstrapRow {
  token_hash: unknown;
  source: unknown;
  created_at: unknown;
  expires_at: unknown;
  consumed_at: unknown;
  org_id: unknown;
  request_hash: unknown;
}

function toBootstrap(row: BootstrapRow): BootstrapRecord {
  const source = text(row.source);
  if (source !== 'first-start' && source !== 'operator')
    throw new Error('bootstrap_tokens.source is invalid');
  return {
    tokenHash: bytes(row.token_hash),
    source,
    createdAt: int(row.created_at),
    expiresAt: intOrNull(row.expires_at),
    consumedAt: intOrNull(row.consumed_at),
    orgId: row.org_id === null ? null : (text(row.org_id) as OrgId),
    requestHash: row.request_hash === null ? null : bytes(row.request_hash),
  };
}

/** BootstrapStore over SQL: one row per token, keyed by its hash. */
export class SqlBootstrapStore implements BootstrapStore {
  constructor(private readonly db: SqlExecutor) {}

  async get(tokenHash: Buffer): Promise<BootstrapRecord | undefined> {
    const row = await this.db.get<BootstrapRow>(
      sql`SELECT * FROM bootstrap_tokens WHERE token_hash = ${tokenHash}`,
    );
    return row === undefined ? undefined : toBootstrap(row);
  }

  async replace(tokenHash: Buffer, createdAt: number): Promise<boolean> {
    // Callers run this in a transaction (first start), so check, delete and insert are one step.
    const used = await this.db.get<{ n: unknown }>(
      sql`SELECT 1 AS n FROM bootstrap_tokens WHERE consumed_at IS NOT NULL LIMIT 1`,
    );
    if (used !== undefined) return false;
    await this.db.run(sql`DELETE FROM bootstrap_tokens WHERE source = 'first-start' AND consumed_at IS NULL`);
    await this.db.run(sql`INSERT INTO bootstrap_tokens (token_hash, source, created_at)
      VALUES (${tokenHash}, 'first-start', ${createdAt})`);
    return true;
  }

  async issue(tokenHash: Buffer, createdAt: number, expiresAt: number): Promise<void> {
    await this.db.run(sql`INSERT INTO bootstrap_tokens (token_hash, source, created_at, expires_at)
      VALUES (${tokenHash}, 'operator', ${createdAt}, ${expiresAt})`);
  }

  async consume(
    tokenHash: Buffer,
    orgId: OrgId,
    requestHash: Buffer,
    now: number,
  ): Promise<BootstrapConsumeOutcome> {
    // The guarded UPDATE lets exactly one of two concurrent requests spend the token.
    const n = await this.db.run(sql`UPDATE bootstrap_tokens
      SET consumed_at = ${now}, org_id = ${orgId}, request_hash = ${requestHash}
      WHERE token_hash = ${tokenHash} AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})`);
    if (n === 1) return { status: 'ok' };
    const current = await this.get(tokenHash);
    if (current === undefined) return { status: 'unknown' };
    if (current.consumedAt !== null && current.orgId !== null)
      return { status: 'used', orgId: current.orgId, requestHash: current.requestHash };
    return { status: 'expired' };
  }

  async countOutstanding(now: number): Promise<number> {
    const row = await this.db.get<{ n: unknown }>(sql`SELECT COUNT(*) AS n FROM bootstrap_tokens
      WHERE consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})`);
    return int(row?.n ?? 0);
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

  async find(orgId: OrgId, codeHash: Buffer): Promise<EnrolmentCodeRecord | undefined> {
    const row = await this.db.get<{
      user_id: unknown;
      created_by: unknown;
      created_at: unknown;
      expires_at: unknown;
      used_at: unknown;
    }>(sql`SELECT user_id, created_by, created_at, expires_at, used_at FROM enrolment_codes
      WHERE org_id = ${orgId} AND code_hash = ${codeHash}`);
    if (row === undefined) return undefined;
    return {
      codeHash,
      userId: text(row.user_id) as UserId,
      createdBy: row.created_by === null ? null : (text(row.created_by) as DeviceId),
      createdAt: int(row.created_at),
      expiresAt: int(row.expires_at),
      usedAt: intOrNull(row.used_at),
    };
  }

  async countCreatedBy(orgId: OrgId, deviceId: DeviceId, userId: UserId, since: number): Promise<number> {
    const row = await this.db.get<{ n: unknown }>(sql`SELECT COUNT(*) AS n FROM enrolment_codes
      WHERE org_id = ${orgId} AND created_by = ${deviceId} AND user_id = ${userId} AND created_at >= ${since}`);
    return int(row?.n ?? 0);
  }

  async expireIssuedBy(orgId: OrgId, deviceId: DeviceId, now: number): Promise<number> {
    return this.db.run(sql`UPDATE enrolment_codes SET expires_at = ${now}
      WHERE org_id = ${orgId} AND created_by = ${deviceId} AND used_at IS NULL AND expires_at > ${now}`);
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

/** The joined row of {@link SqlAuthTokenStore.findSession} (device and user columns null when missing). */
interface SessionRow {
  t_device_id: unknown;
  t_created_at: unknown;
  t_expires_at: unknown;
  d_device_id: unknown;
  d_user_id: unknown;
  d_device_number: unknown;
  d_identity_key: unknown;
  d_registration_id: unknown;
  d_created_at: unknown;
  d_revoked_at: unknown;
  d_hand_in_until: unknown;
  u_user_id: unknown;
  u_role: unknown;
  u_retention_class: unknown;
  u_retention_source: unknown;
  u_created_at: unknown;
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

  async findSession(orgId: OrgId, tokenHash: Buffer): Promise<AuthSession | undefined> {
    // One round trip instead of three (token, device, user): on PostgreSQL each is a pool
    // checkout and a round trip on every authenticated request.
    const row = await this.db.get<SessionRow>({
      ...sql`SELECT t.device_id AS t_device_id, t.created_at AS t_created_at, t.expires_at AS t_expires_at,
          d.device_id AS d_device_id, d.user_id AS d_user_id, d.device_number AS d_device_number,
          d.identity_key AS d_identity_key, d.registration_id AS d_registration_id,
          d.created_at AS d_created_at, d.revoked_at AS d_revoked_at,
          d.hand_in_until AS d_hand_in_until,
          u.user_id AS u_user_id, u.role AS u_role, u.retention_class AS u_retention_class,
          u.retention_source AS u_retention_source, u.created_at AS u_created_at
        FROM auth_tokens t
        LEFT JOIN devices d ON d.org_id = t.org_id AND d.device_id = t.device_id
        LEFT JOIN users u ON u.org_id = d.org_id AND u.user_id = d.user_id
        WHERE t.org_id = ${orgId} AND t.token_hash = ${tokenHash}`,
      name: 'auth-session',
    });
    if (row === undefined) return undefined;
    const token: AuthTokenRecord = {
      tokenHash,
      deviceId: text(row.t_device_id) as DeviceId,
      createdAt: int(row.t_created_at),
      expiresAt: int(row.t_expires_at),
    };
    const device =
      row.d_device_id === null
        ? undefined
        : toDevice({
            org_id: orgId,
            device_id: row.d_device_id,
            user_id: row.d_user_id,
            device_number: row.d_device_number,
            identity_key: row.d_identity_key,
            registration_id: row.d_registration_id,
            created_at: row.d_created_at,
            revoked_at: row.d_revoked_at,
            hand_in_until: row.d_hand_in_until,
          });
    const user =
      row.u_user_id === null
        ? undefined
        : toUser({
            org_id: orgId,
            user_id: row.u_user_id,
            role: row.u_role,
            retention_class: row.u_retention_class,
            retention_source: row.u_retention_source,
            created_at: row.u_created_at,
          });
    return { token, device, user };
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
    const rows = await this.db.all<PendingRow>(sql`SELECT seq, kind, actor_device_id, subject, detail, at
      FROM audit_pending WHERE org_id = ${orgId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`);
    return rows.map((r) => pendingOf(orgId, r));
  }

  async latestOfficersChange(orgId: OrgId): Promise<PendingAuditEntry | undefined> {
    // The partial index audit_pending_officers (migration 21) makes this one index probe.
    const row = await this.db.get<PendingRow>(sql`SELECT seq, kind, actor_device_id, subject, detail, at
      FROM audit_pending WHERE org_id = ${orgId} AND kind = 'officers.change' ORDER BY seq DESC LIMIT 1`);
    return row === undefined ? undefined : pendingOf(orgId, row);
  }

  async officersChanges(orgId: OrgId): Promise<PendingAuditEntry[]> {
    // The partial index audit_pending_officers (migration 21) holds exactly these rows.
    const rows = await this.db.all<PendingRow>(sql`SELECT seq, kind, actor_device_id, subject, detail, at
      FROM audit_pending WHERE org_id = ${orgId} AND kind = 'officers.change' ORDER BY seq`);
    return rows.map((r) => pendingOf(orgId, r));
  }
}

interface PendingRow {
  seq: unknown;
  kind: unknown;
  actor_device_id: unknown;
  subject: unknown;
  detail: unknown;
  at: unknown;
}

function pendingOf(orgId: OrgId, r: PendingRow): PendingAuditEntry {
  return {
    orgId,
    seq: int(r.seq),
    kind: text(r.kind) as AuditKind,
    actorDeviceId: r.actor_device_id === null ? null : (text(r.actor_device_id) as DeviceId),
    subject: text(r.subject),
    detail: r.detail === null ? null : text(r.detail),
    at: int(r.at),
  };
}
