/**
 * Prekey claims over SQL. A one-time key is taken with a single DELETE … RETURNING whose
 * target row is chosen in a subquery; on PostgreSQL the subquery locks its row with
 * FOR UPDATE SKIP LOCKED, so concurrent claims on any number of API nodes each get a
 * different key (or none) and never wait on one another. SQLite has one writer, so the
 * statement is atomic as it stands.
 */
import type { DeviceId, OrgId } from '../ids.js';
import type { PrekeyClaimStore } from './messaging-stores.js';
import type { KyberPreKey, OneTimePreKey, SignedPreKey } from './records.js';
import { bytes, int } from './row-checks.js';
import { sql, type SqlExecutor, type SqlQuery } from './sql.js';

interface KyberRow {
  key_id: unknown;
  public_key: unknown;
  signature: unknown;
  last_resort: unknown;
}

function toKyber(r: KyberRow): KyberPreKey {
  return {
    keyId: int(r.key_id),
    publicKey: bytes(r.public_key),
    signature: bytes(r.signature),
    lastResort: int(r.last_resort) === 1,
  };
}

/** PrekeyClaimStore over SQL. */
export class SqlPrekeyClaimStore implements PrekeyClaimStore {
  constructor(private readonly db: SqlExecutor) {}

  async signedPreKey(orgId: OrgId, deviceId: DeviceId): Promise<SignedPreKey | undefined> {
    const r = await this.db.get<{ key_id: unknown; public_key: unknown; signature: unknown }>(
      sql`SELECT key_id, public_key, signature FROM signed_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}`,
    );
    if (r === undefined) return undefined;
    return { keyId: int(r.key_id), publicKey: bytes(r.public_key), signature: bytes(r.signature) };
  }

  async takeOneTimePreKey(orgId: OrgId, deviceId: DeviceId): Promise<OneTimePreKey | undefined> {
    const q: SqlQuery =
      this.db.dialect === 'postgres'
        ? sql`DELETE FROM one_time_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND key_id =
            (SELECT key_id FROM one_time_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}
             ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING key_id, public_key`
        : sql`DELETE FROM one_time_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND key_id =
            (SELECT key_id FROM one_time_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}
             ORDER BY key_id LIMIT 1)
          RETURNING key_id, public_key`;
    const r = await this.db.get<{ key_id: unknown; public_key: unknown }>(q);
    return r === undefined ? undefined : { keyId: int(r.key_id), publicKey: bytes(r.public_key) };
  }

  async takeKyberPreKey(orgId: OrgId, deviceId: DeviceId): Promise<KyberPreKey | undefined> {
    const q: SqlQuery =
      this.db.dialect === 'postgres'
        ? sql`DELETE FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND key_id =
            (SELECT key_id FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}
             AND last_resort = 0 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING key_id, public_key, signature, last_resort`
        : sql`DELETE FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND key_id =
            (SELECT key_id FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId}
             AND last_resort = 0 ORDER BY key_id LIMIT 1)
          RETURNING key_id, public_key, signature, last_resort`;
    const taken = await this.db.get<KyberRow>(q);
    if (taken !== undefined) return toKyber(taken);
    // The last-resort key is shared by every claim once the one-time keys run out; it is never deleted here.
    const lastResort = await this.db.get<KyberRow>(sql`SELECT key_id, public_key, signature, last_resort
      FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND last_resort = 1
      ORDER BY key_id DESC LIMIT 1`);
    return lastResort === undefined ? undefined : toKyber(lastResort);
  }

  async replaceLastResortKyberPreKey(orgId: OrgId, deviceId: DeviceId, k: KyberPreKey): Promise<void> {
    await this.db.run(
      sql`DELETE FROM kyber_prekeys WHERE org_id = ${orgId} AND device_id = ${deviceId} AND (last_resort = 1 OR key_id = ${k.keyId})`,
    );
    await this.db.run(sql`INSERT INTO kyber_prekeys (org_id, device_id, key_id, public_key, signature,
      last_resort) VALUES (${orgId}, ${deviceId}, ${k.keyId}, ${k.publicKey}, ${k.signature}, 1)`);
  }
}
