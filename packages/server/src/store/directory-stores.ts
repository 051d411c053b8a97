/**
 * Org, user, device and prekey stores over any SqlExecutor. The SQL is portable between
 * SQLite and PostgreSQL (ON CONFLICT, RETURNING); every org-scoped query filters on org_id.
 */
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type {
  DeviceRecord,
  KeyManagerRotation,
  OfficerBinding,
  OfficerBindingState,
  StoredOfficerBinding,
  RootKeyRotation,
  KyberPreKey,
  NewUser,
  OfficerKey,
  OfficerListChange,
  NewDevice,
  OneTimePreKey,
  OrgRecord,
  PrekeyCounts,
  RetentionClass,
  Role,
  RoleRetention,
  SignedPreKey,
  UserRecord,
} from './records.js';
import { DEFAULT_RETENTION_CLASS } from './records.js';
import {
  asArchivePolicy,
  asRetentionClass,
  asRetentionSource,
  asRole,
  bytes,
  int,
  intOrNull,
  text,
} from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';
import type { DeviceStore, OrgStore, Page, PrekeyStore, UserStore } from './stores.js';

interface OrgRow {
  org_id: unknown;
  name: unknown;
  signing_public_key: unknown;
  signing_key_fingerprint: unknown;
  root_archive_public_key: unknown;
  key_manager_delegation: unknown;
  key_manager_not_before: unknown;
  key_manager_not_after: unknown;
  officer_quorum: unknown;
  created_at: unknown;
  archive_policy: unknown;
  archive_policy_statement: unknown;
}

/** OrgStore over SQL. */
export class SqlOrgStore implements OrgStore {
  constructor(private readonly db: SqlExecutor) {}

  async lockOfficerList(orgId: OrgId): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    await this.db.get(sql`SELECT 1 FROM orgs WHERE org_id = ${orgId} FOR SHARE`);
  }

  async create(org: OrgRecord): Promise<void> {
    await this.db.run(sql`INSERT INTO orgs (org_id, name, signing_public_key, signing_key_fingerprint,
      root_archive_public_key, key_manager_delegation, key_manager_not_before, key_manager_not_after,
      officer_quorum, created_at, archive_policy, archive_policy_statement)
      VALUES (${org.orgId}, ${org.name}, ${org.signingPublicKey}, ${org.signingKeyFingerprint},
      ${org.rootArchivePublicKey}, ${org.keyManager.delegation}, ${org.keyManager.notBefore},
      ${org.keyManager.notAfter}, ${org.officerQuorum}, ${org.createdAt},
      ${org.archivePolicy?.policy ?? 'required'}, ${org.archivePolicy?.statement ?? null})`);
    for (const o of org.officers) {
      await this.db.run(
        sql`INSERT INTO org_officers (org_id, officer_index, public_key) VALUES (${org.orgId}, ${o.index}, ${o.publicKey})`,
      );
    }
  }

  async get(orgId: OrgId): Promise<OrgRecord | undefined> {
    const row = await this.db.get<OrgRow>(sql`SELECT * FROM orgs WHERE org_id = ${orgId}`);
    if (row === undefined) return undefined;
    const officers = await this.db.all<{ officer_index: unknown; public_key: unknown }>(
      sql`SELECT officer_index, public_key FROM org_officers WHERE org_id = ${orgId} ORDER BY officer_index`,
    );
    return {
      orgId: text(row.org_id) as OrgId,
      name: text(row.name),
      signingPublicKey: bytes(row.signing_public_key),
      signingKeyFingerprint: text(row.signing_key_fingerprint),
      rootArchivePublicKey: bytes(row.root_archive_public_key),
      keyManager: {
        delegation: bytes(row.key_manager_delegation),
        notBefore: int(row.key_manager_not_before),
        notAfter: int(row.key_manager_not_after),
      },
      officerQuorum: int(row.officer_quorum),
      officers: officers.map((o) => ({ index: int(o.officer_index), publicKey: bytes(o.public_key) })),
      createdAt: int(row.created_at),
      ...(row.archive_policy_statement === null
        ? {}
        : {
            archivePolicy: {
              policy: asArchivePolicy(row.archive_policy),
              statement: bytes(row.archive_policy_statement),
            },
          }),
    };
  }

  async archives(orgId: OrgId): Promise<boolean | undefined> {
    const row = await this.db.get<{ archive_policy: unknown }>(
      sql`SELECT archive_policy FROM orgs WHERE org_id = ${orgId}`,
    );
    return row === undefined ? undefined : asArchivePolicy(row.archive_policy) === 'required';
  }

  async setKeyManager(orgId: OrgId, km: OrgRecord['keyManager']): Promise<boolean> {
    return (
      (await this.db.run(sql`UPDATE orgs SET key_manager_delegation = ${km.delegation},
        key_manager_not_before = ${km.notBefore}, key_manager_not_after = ${km.notAfter}
        WHERE org_id = ${orgId}`)) === 1
    );
  }

  async addKeyManagerRotation(orgId: OrgId, r: KeyManagerRotation): Promise<void> {
    await this.db.run(sql`INSERT INTO key_manager_rotations (org_id, seq, superseded, delegation, rotated_by,
      rotated_at, log_index) VALUES (${orgId}, ${r.seq}, ${r.superseded}, ${r.delegation}, ${r.rotatedBy},
      ${r.rotatedAt}, ${r.logIndex})`);
    for (const w of r.wraps) {
      await this.db.run(sql`INSERT INTO key_manager_wraps (org_id, seq, recipient, blob)
        VALUES (${orgId}, ${r.seq}, ${w.recipient}, ${w.blob})`);
    }
  }

  async keyManagerRotations(orgId: OrgId): Promise<KeyManagerRotation[]> {
    const rows = await this.db.all<Record<string, unknown>>(
      sql`SELECT * FROM key_manager_rotations WHERE org_id = ${orgId} ORDER BY seq`,
    );
    const wraps = await this.db.all<{ seq: unknown; recipient: unknown; blob: unknown }>(
      sql`SELECT seq, recipient, blob FROM key_manager_wraps WHERE org_id = ${orgId} ORDER BY seq, recipient`,
    );
    return rows.map((r) => {
      const seq = int(r.seq);
      return {
        seq,
        superseded: bytes(r.superseded),
        delegation: bytes(r.delegation),
        wraps: wraps
          .filter((w) => int(w.seq) === seq)
          .map((w) => ({ recipient: text(w.recipient), blob: bytes(w.blob) })),
        rotatedBy: text(r.rotated_by),
        rotatedAt: int(r.rotated_at),
        logIndex: int(r.log_index),
      };
    });
  }

  async replaceOfficers(
    orgId: OrgId,
    officers: readonly OfficerKey[],
    quorum: number,
    change: OfficerListChange,
  ): Promise<void> {
    await this.db.run(sql`DELETE FROM org_officers WHERE org_id = ${orgId}`);
    for (const o of officers) {
      await this.db.run(
        sql`INSERT INTO org_officers (org_id, officer_index, public_key) VALUES (${orgId}, ${o.index}, ${o.publicKey})`,
      );
    }
    await this.db.run(sql`UPDATE orgs SET officer_quorum = ${quorum} WHERE org_id = ${orgId}`);
    await this.db
      .run(sql`INSERT INTO officer_list_changes (org_id, seq, document, issued_at, changed_by, changed_at)
      VALUES (${orgId}, ${change.seq}, ${change.document}, ${change.issuedAt}, ${change.changedBy}, ${change.changedAt})`);
  }

  async addRootKeyRotation(orgId: OrgId, r: RootKeyRotation, publicKey: Buffer): Promise<void> {
    await this.db.run(sql`INSERT INTO root_key_rotations (org_id, seq, statement, superseded, issued_at,
      rotated_by, rotated_at, log_index) VALUES (${orgId}, ${r.seq}, ${r.statement}, ${r.superseded},
      ${r.issuedAt}, ${r.rotatedBy}, ${r.rotatedAt}, ${r.logIndex})`);
    await this.db.run(sql`UPDATE orgs SET root_archive_public_key = ${publicKey} WHERE org_id = ${orgId}`);
  }

  async rootKeyRotations(orgId: OrgId): Promise<RootKeyRotation[]> {
    const rows = await this.db.all<Record<string, unknown>>(
      sql`SELECT * FROM root_key_rotations WHERE org_id = ${orgId} ORDER BY seq`,
    );
    return rows.map((r) => ({
      seq: int(r.seq),
      statement: bytes(r.statement),
      superseded: bytes(r.superseded),
      issuedAt: int(r.issued_at),
      rotatedBy: text(r.rotated_by),
      rotatedAt: int(r.rotated_at),
      logIndex: int(r.log_index),
    }));
  }

  async replaceKeyManagerRootWraps(
    orgId: OrgId,
    current: { seq: number; blob: Buffer } | undefined,
  ): Promise<void> {
    await this.db.run(sql`DELETE FROM key_manager_wraps WHERE org_id = ${orgId} AND recipient = 'root'`);
    if (current !== undefined) {
      await this.db.run(sql`INSERT INTO key_manager_wraps (org_id, seq, recipient, blob)
        VALUES (${orgId}, ${current.seq}, 'root', ${current.blob})`);
    }
  }

  async lastOfficerListChange(orgId: OrgId): Promise<OfficerListChange | undefined> {
    const r = await this.db.get<Record<string, unknown>>(
      sql`SELECT * FROM officer_list_changes WHERE org_id = ${orgId} ORDER BY seq DESC LIMIT 1`,
    );
    return r === undefined ? undefined : officerListChangeOf(r);
  }

  async officerListChanges(orgId: OrgId): Promise<OfficerListChange[]> {
    const rows = await this.db.all<Record<string, unknown>>(
      sql`SELECT * FROM officer_list_changes WHERE org_id = ${orgId} ORDER BY seq`,
    );
    return rows.map(officerListChangeOf);
  }

  async count(): Promise<number> {
    const row = await this.db.get<{ n: unknown }>(sql`SELECT COUNT(*) AS n FROM orgs`);
    return int(row?.n ?? 0);
  }
}

function officerListChangeOf(r: Record<string, unknown>): OfficerListChange {
  return {
    seq: int(r.seq),
    document: bytes(r.document),
    issuedAt: int(r.issued_at),
    changedBy: text(r.changed_by),
    changedAt: int(r.changed_at),
  };
}

/** A `users` row as selected. */
export interface UserRow {
  org_id: unknown;
  user_id: unknown;
  role: unknown;
  retention_class: unknown;
  retention_source: unknown;
  created_at: unknown;
}

/** A `users` row as a record. */
export function toUser(row: UserRow): UserRecord {
  return {
    orgId: text(row.org_id) as OrgId,
    userId: text(row.user_id) as UserId,
    role: asRole(row.role),
    retentionClass: asRetentionClass(row.retention_class),
    retentionSource: asRetentionSource(row.retention_source),
    createdAt: int(row.created_at),
  };
}

/**
 * A device insert lost a race: another transaction added a device to the same user at the
 * same moment (and took the number). Nothing of the losing transaction is kept; running it
 * again is safe, and sees the other device.
 */
export class DeviceNumberTakenError extends Error {
  override readonly name = 'DeviceNumberTakenError';
  constructor(
    readonly userId: UserId,
    options?: ErrorOptions,
  ) {
    super(`another device of user ${userId} was added at the same moment`, options);
  }
}

/** A UNIQUE or PRIMARY KEY violation: PostgreSQL's SQLSTATE 23505, or SQLite's extended code. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** UserStore over SQL. */
export class SqlUserStore implements UserStore {
  constructor(private readonly db: SqlExecutor) {}

  async lockForDevices(orgId: OrgId, userId: UserId): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    await this.db.get(sql`SELECT 1 FROM users WHERE org_id = ${orgId} AND user_id = ${userId} FOR UPDATE`);
  }

  async create(orgId: OrgId, user: NewUser): Promise<void> {
    await this.db
      .run(sql`INSERT INTO users (org_id, user_id, role, retention_class, retention_source, created_at)
      VALUES (${orgId}, ${user.userId}, ${user.role}, ${user.retentionClass},
        ${user.retentionSource ?? 'user'}, ${user.createdAt})`);
  }

  async get(orgId: OrgId, userId: UserId): Promise<UserRecord | undefined> {
    const row = await this.db.get<UserRow>(
      sql`SELECT * FROM users WHERE org_id = ${orgId} AND user_id = ${userId}`,
    );
    return row === undefined ? undefined : toUser(row);
  }

  async list(orgId: OrgId, page: Page<UserId>): Promise<UserRecord[]> {
    const rows = await this.db.all<UserRow>(sql`SELECT * FROM users WHERE org_id = ${orgId}
      AND user_id > ${page.after ?? ''} ORDER BY user_id LIMIT ${page.limit}`);
    return rows.map(toUser);
  }

  async setRole(orgId: OrgId, userId: UserId, role: Role): Promise<boolean> {
    // A user who follows their role takes the new role's class with it.
    return (
      (await this.db.run(sql`UPDATE users SET role = ${role},
        retention_class = CASE WHEN retention_source = 'role' THEN COALESCE((SELECT r.retention_class
          FROM role_retention r WHERE r.org_id = ${orgId} AND r.role = ${role}), ${DEFAULT_RETENTION_CLASS})
          ELSE retention_class END
        WHERE org_id = ${orgId} AND user_id = ${userId}`)) === 1
    );
  }

  async setRetentionClass(orgId: OrgId, userId: UserId, retentionClass: RetentionClass): Promise<boolean> {
    const n = await this.db.run(
      sql`UPDATE users SET retention_class = ${retentionClass}, retention_source = 'user'
        WHERE org_id = ${orgId} AND user_id = ${userId}`,
    );
    return n === 1;
  }

  async followRole(orgId: OrgId, userId: UserId): Promise<boolean> {
    const n = await this.db.run(sql`UPDATE users SET retention_source = 'role',
      retention_class = COALESCE((SELECT r.retention_class FROM role_retention r
        WHERE r.org_id = users.org_id AND r.role = users.role), ${DEFAULT_RETENTION_CLASS})
      WHERE org_id = ${orgId} AND user_id = ${userId}`);
    return n === 1;
  }

  async roleRetention(orgId: OrgId): Promise<RoleRetention[]> {
    const rows = await this.db.all<{ role: unknown; retention_class: unknown; set_at: unknown }>(
      sql`SELECT role, retention_class, set_at FROM role_retention WHERE org_id = ${orgId} ORDER BY role`,
    );
    return rows.map((r) => ({
      role: asRole(r.role),
      retentionClass: asRetentionClass(r.retention_class),
      setAt: int(r.set_at),
    }));
  }

  async setRoleRetention(orgId: OrgId, rule: RoleRetention): Promise<number> {
    await this.db.run(sql`INSERT INTO role_retention (org_id, role, retention_class, set_at)
      VALUES (${orgId}, ${rule.role}, ${rule.retentionClass}, ${rule.setAt})
      ON CONFLICT (org_id, role) DO UPDATE SET retention_class = excluded.retention_class,
        set_at = excluded.set_at`);
    return this.db.run(sql`UPDATE users SET retention_class = ${rule.retentionClass}
      WHERE org_id = ${orgId} AND role = ${rule.role} AND retention_source = 'role'`);
  }
}

/** A `devices` row as selected. */
export interface DeviceRow {
  org_id: unknown;
  device_id: unknown;
  user_id: unknown;
  device_number: unknown;
  identity_key: unknown;
  registration_id: unknown;
  created_at: unknown;
  revoked_at: unknown;
  hand_in_until: unknown;
}

/** A `devices` row as a record. */
export function toDevice(row: DeviceRow): DeviceRecord {
  return {
    orgId: text(row.org_id) as OrgId,
    deviceId: text(row.device_id) as DeviceId,
    userId: text(row.user_id) as UserId,
    deviceNumber: int(row.device_number),
    identityKey: bytes(row.identity_key),
    registrationId: int(row.registration_id),
    createdAt: int(row.created_at),
    revokedAt: intOrNull(row.revoked_at),
    handInUntil: intOrNull(row.hand_in_until),
  };
}

/** DeviceStore over SQL. */
export class SqlDeviceStore implements DeviceStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(orgId: OrgId, d: NewDevice): Promise<DeviceRecord> {
    // The UNIQUE (org_id, user_id, device_number) constraint catches a race the caller did not
    // lock out (UserStore.lockForDevices): the later insert fails rather than reusing a number.
    let row: DeviceRow | undefined;
    try {
      row = await this.db.get<DeviceRow>(sql`INSERT INTO devices (org_id, device_id, user_id, device_number,
      identity_key, registration_id, created_at)
      SELECT ${orgId}, ${d.deviceId}, ${d.userId}, COALESCE(MAX(device_number), 0) + 1,
        ${d.identityKey}, ${d.registrationId}, ${d.createdAt}
      FROM devices WHERE org_id = ${orgId} AND user_id = ${d.userId}
      RETURNING *`);
    } catch (e) {
      if (isUniqueViolation(e)) throw new DeviceNumberTakenError(d.userId, { cause: e });
      throw e;
    }
    if (row === undefined) throw new Error('device insert returned no row');
    return toDevice(row);
  }

  async get(orgId: OrgId, deviceId: DeviceId): Promise<DeviceRecord | undefined> {
    const row = await this.db.get<DeviceRow>(
      sql`SELECT * FROM devices WHERE org_id = ${orgId} AND device_id = ${deviceId}`,
    );
    return row === undefined ? undefined : toDevice(row);
  }

  async list(orgId: OrgId, page: Page<DeviceId>, userId?: UserId): Promise<DeviceRecord[]> {
    const after = page.after ?? '';
    const rows =
      userId === undefined
        ? await this.db
            .all<DeviceRow>(sql`SELECT * FROM devices WHERE org_id = ${orgId} AND device_id > ${after}
            ORDER BY device_id LIMIT ${page.limit}`)
        : await this.db
            .all<DeviceRow>(sql`SELECT * FROM devices WHERE org_id = ${orgId} AND user_id = ${userId}
            AND device_id > ${after} ORDER BY device_id LIMIT ${page.limit}`);
    return rows.map(toDevice);
  }

  async revoke(
    orgId: OrgId,
    deviceId: DeviceId,
    at: number,
    handInUntil: number | null = null,
  ): Promise<boolean> {
    const n = await this.db.run(sql`UPDATE devices SET revoked_at = ${at}, hand_in_until = ${handInUntil}
      WHERE org_id = ${orgId} AND device_id = ${deviceId} AND revoked_at IS NULL`);
    return n === 1;
  }

  async bindOfficer(
    orgId: OrgId,
    deviceId: DeviceId,
    b: OfficerBinding,
  ): Promise<{ stored: boolean; binding: OfficerBinding }> {
    const n = await this.db.run(sql`INSERT INTO officer_bindings (org_id, device_id, officer_index,
      officer_public_key, statement, bound_at) VALUES (${orgId}, ${deviceId}, ${b.officerIndex},
      ${b.officerPublicKey}, ${b.statement}, ${b.boundAt}) ON CONFLICT DO NOTHING`);
    if (n === 1) return { stored: true, binding: b };
    const row = await this.db.get<{
      officer_index: unknown;
      officer_public_key: unknown;
      statement: unknown;
      bound_at: unknown;
    }>(sql`SELECT officer_index, officer_public_key, statement, bound_at FROM officer_bindings
      WHERE org_id = ${orgId} AND device_id = ${deviceId}`);
    if (row === undefined) throw new Error('officer binding insert conflicted with no row');
    return {
      stored: false,
      binding: {
        officerIndex: int(row.officer_index),
        officerPublicKey: bytes(row.officer_public_key),
        statement: bytes(row.statement),
        boundAt: int(row.bound_at),
      },
    };
  }

  async officerBinding(orgId: OrgId, deviceId: DeviceId): Promise<OfficerBindingState | undefined> {
    // Listed only while the current list names the index with the very key it was bound under:
    // replacing the officers (a removal, PUT …/officers) unbinds in the same commit.
    const row = await this.db.get<{ officer_index: unknown; listed: unknown }>(sql`SELECT b.officer_index,
      CASE WHEN o.officer_index IS NULL THEN 0 ELSE 1 END AS listed
      FROM officer_bindings b
      LEFT JOIN org_officers o ON o.org_id = b.org_id AND o.officer_index = b.officer_index
        AND o.public_key = b.officer_public_key
      WHERE b.org_id = ${orgId} AND b.device_id = ${deviceId}`);
    if (row === undefined) return undefined;
    return { officerIndex: int(row.officer_index), listed: int(row.listed) === 1 };
  }

  async officerBindings(orgId: OrgId, page: Page<DeviceId>): Promise<StoredOfficerBinding[]> {
    const rows = await this.db.all<{
      device_id: unknown;
      officer_index: unknown;
      officer_public_key: unknown;
      statement: unknown;
      bound_at: unknown;
    }>(sql`SELECT device_id, officer_index, officer_public_key, statement, bound_at FROM officer_bindings
      WHERE org_id = ${orgId} AND device_id > ${page.after ?? ''} ORDER BY device_id LIMIT ${page.limit}`);
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      officerIndex: int(r.officer_index),
      officerPublicKey: bytes(r.officer_public_key),
      statement: bytes(r.statement),
      boundAt: int(r.bound_at),
    }));
  }
}

/** PrekeyStore over SQL. */
export class SqlPrekeyStore implements PrekeyStore {
  constructor(private readonly db: SqlExecutor) {}

  async putSignedPreKey(orgId: OrgId, deviceId: DeviceId, k: SignedPreKey): Promise<void> {
    await this.db.run(sql`INSERT INTO signed_prekeys (org_id, device_id, key_id, public_key, signature)
      VALUES (${orgId}, ${deviceId}, ${k.keyId}, ${k.publicKey}, ${k.signature})
      ON CONFLICT (org_id, device_id) DO UPDATE SET key_id = excluded.key_id,
        public_key = excluded.public_key, signature = excluded.signature`);
  }

  async addOneTimePreKeys(orgId: OrgId, deviceId: DeviceId, keys: readonly OneTimePreKey[]): Promise<number> {
    let added = 0;
    for (const k of keys) {
      added += await this.db.run(sql`INSERT INTO one_time_prekeys (org_id, device_id, key_id, public_key)
        VALUES (${orgId}, ${deviceId}, ${k.keyId}, ${k.publicKey}) ON CONFLICT DO NOTHING`);
    }
    return added;
  }

  async addKyberPreKeys(orgId: OrgId, deviceId: DeviceId, keys: readonly KyberPreKey[]): Promise<number> {
    let added = 0;
    for (const k of keys) {
      added += await this.db
        .run(sql`INSERT INTO kyber_prekeys (org_id, device_id, key_id, public_key, signature,
        last_resort) VALUES (${orgId}, ${deviceId}, ${k.keyId}, ${k.publicKey}, ${k.signature},
        ${k.lastResort ? 1 : 0}) ON CONFLICT DO NOTHING`);
    }
    return added;
  }

  async counts(orgId: OrgId, deviceId: DeviceId): Promise<PrekeyCounts> {
    const row = await this.db.get<{ s: unknown; o: unknown; k: unknown; l: unknown }>(sql`SELECT
      (SELECT COUNT(*) FROM signed_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}) AS s,
      (SELECT COUNT(*) FROM one_time_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}) AS o,
      (SELECT COUNT(*) FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND last_resort = 0) AS k,
      (SELECT COUNT(*) FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND last_resort = 1) AS l`);
    return {
      signed: int(row?.s ?? 0) > 0,
      oneTime: int(row?.o ?? 0),
      kyber: int(row?.k ?? 0),
      lastResortKyber: int(row?.l ?? 0) > 0,
    };
  }
}
