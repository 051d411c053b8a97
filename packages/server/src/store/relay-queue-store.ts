/**
 * The relay queue over SQL, portable between SQLite and PostgreSQL. Order within a queue is
 * the row's `seq` (AUTOINCREMENT / identity); the external id is random. Every query filters
 * on (org_id, device_id), so a device can read and acknowledge only its own queue.
 */
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type {
  DeviceState,
  EnvelopeId,
  NewEnvelope,
  QueuedEnvelope,
  SendKeyRecord,
  Usage,
} from './messaging-records.js';
import { wakePayload } from '../relay/relay-hub.js';
import { RELAY_NOTIFY_CHANNEL, type RelayQueueStore } from './messaging-stores.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { allIn, inList, inListChunks, sql, type SqlExecutor, type SqlQuery, type SqlValue } from './sql.js';

const INSERT_HEAD = `INSERT INTO relay_queue (org_id, device_id, envelope_id, sender_org_id, sender_user_id,
  sender_device_id, sender_device_number, envelope_type, content, size, created_at, expires_at) VALUES `;
const ENVELOPE_COLUMNS = 12;
const SEND_KEY_INSERT_HEAD = `INSERT INTO relay_send_keys (org_id, device_id, idem_key, request_hash, answer,
  created_at) VALUES `;
const SEND_KEY_COLUMNS = 6;
/** A (device, key) remembered already is skipped, not an error: the caller compares counts (rememberSends). */
const SEND_KEY_INSERT_TAIL = ' ON CONFLICT DO NOTHING';
/** Rows per multi-row statement, largest first: any count splits into these few statement shapes. */
const CHUNK_SIZES = [64, 16, 4, 1] as const;

/** Splits `n` rows into [offset, size] chunks of the CHUNK_SIZES shapes. */
function chunks(n: number): [number, number][] {
  const out: [number, number][] = [];
  let offset = 0;
  for (const size of CHUNK_SIZES) {
    while (n - offset >= size) {
      out.push([offset, size]);
      offset += size;
    }
  }
  return out;
}

/** The fragments of each multi-row statement shape, by head, columns and rows (made once, frozen). */
const multiRowShapes = new Map<string, readonly string[]>();

/**
 * `head (?, …), (?, …) tail` with `rows` tuples of `columns` placeholders, bound to `values`.
 * The fragments of a shape are made once and frozen, so its text is rendered once too (sql.ts).
 */
function multiRow(head: string, columns: number, rows: number, values: SqlValue[], tail = ''): SqlQuery {
  const key = `${columns}/${rows}/${head}/${tail}`;
  let fragments = multiRowShapes.get(key);
  if (fragments === undefined) {
    const built: string[] = [`${head}(`];
    for (let r = 0; r < rows; r++) {
      for (let c = 1; c < columns; c++) built.push(', ');
      built.push(r === rows - 1 ? `)${tail}` : '), (');
    }
    fragments = Object.freeze(built);
    multiRowShapes.set(key, fragments);
  }
  return { fragments, values };
}

interface EnvelopeRow {
  envelope_id: unknown;
  device_id: unknown;
  sender_org_id: unknown;
  sender_user_id: unknown;
  sender_device_id: unknown;
  sender_device_number: unknown;
  envelope_type: unknown;
  content: unknown;
  created_at: unknown;
  expires_at: unknown;
}

function toEnvelope(orgId: OrgId, r: EnvelopeRow): QueuedEnvelope {
  return {
    orgId,
    envelopeId: text(r.envelope_id) as EnvelopeId,
    recipientDeviceId: text(r.device_id) as DeviceId,
    sender: {
      orgId: text(r.sender_org_id) as OrgId,
      userId: text(r.sender_user_id) as UserId,
      deviceId: text(r.sender_device_id) as DeviceId,
      deviceNumber: int(r.sender_device_number),
    },
    type: int(r.envelope_type),
    content: bytes(r.content),
    createdAt: int(r.created_at),
    expiresAt: int(r.expires_at),
  };
}

/** RelayQueueStore over SQL. */
export class SqlRelayQueueStore implements RelayQueueStore {
  constructor(private readonly db: SqlExecutor) {}

  async enqueue(orgId: OrgId, envelopes: readonly NewEnvelope[]): Promise<void> {
    // Multi-row statements, in a few fixed shapes so the prepared-statement caches stay small.
    // Rows go in array order, so `seq` keeps the enqueue order.
    for (const [offset, size] of chunks(envelopes.length)) {
      const values: SqlValue[] = [];
      for (let i = offset; i < offset + size; i++) {
        const e = envelopes[i]!;
        values.push(
          orgId,
          e.recipientDeviceId,
          e.envelopeId,
          e.sender.orgId,
          e.sender.userId,
          e.sender.deviceId,
          e.sender.deviceNumber,
          e.type,
          e.content,
          e.content.length,
          e.createdAt,
          e.expiresAt,
        );
      }
      await this.db.run(multiRow(INSERT_HEAD, ENVELOPE_COLUMNS, size, values));
    }
  }

  async pending(orgId: OrgId, deviceId: DeviceId, now: number, limit: number): Promise<QueuedEnvelope[]> {
    const rows = await this.db.all<EnvelopeRow>(sql`SELECT envelope_id, device_id, sender_org_id,
      sender_user_id, sender_device_id, sender_device_number, envelope_type, content, created_at, expires_at
      FROM relay_queue WHERE org_id = ${orgId} AND device_id = ${deviceId} AND expires_at > ${now}
      ORDER BY seq LIMIT ${limit}`);
    return rows.map((r) => toEnvelope(orgId, r));
  }

  async ack(orgId: OrgId, deviceId: DeviceId, envelopeIds: readonly EnvelopeId[]): Promise<number> {
    // Duplicates in one IN list delete once, as the contract asks (ids of one call are a set).
    // Rows are found by the (envelope_id) index (migration 16); org and device are checked on
    // each row. SQLite, without statistics, would rather scan the device's whole queue through
    // (org_id, device_id, …) for a longer list, so it is told which index to use.
    const head =
      this.db.dialect === 'sqlite'
        ? sql`DELETE FROM relay_queue INDEXED BY relay_queue_envelope WHERE org_id = ${orgId}
            AND device_id = ${deviceId} AND envelope_id IN`
        : sql`DELETE FROM relay_queue WHERE org_id = ${orgId} AND device_id = ${deviceId} AND envelope_id IN`;
    let n = 0;
    for (const part of inListChunks(envelopeIds)) n += await this.db.run(inList(head, part));
    return n;
  }

  async deletePushed(envelopeIds: readonly EnvelopeId[]): Promise<number> {
    // The unique (envelope_id) index (migration 16) finds each row.
    let n = 0;
    for (const part of inListChunks(envelopeIds))
      n += await this.db.run(inList(sql`DELETE FROM relay_queue WHERE envelope_id IN`, part));
    return n;
  }

  async usage(orgId: OrgId, deviceId: DeviceId): Promise<Usage> {
    const row = await this.db.get<{ n: unknown; b: unknown }>(sql`SELECT COUNT(*) AS n,
      COALESCE(SUM(size), 0) AS b FROM relay_queue WHERE org_id = ${orgId} AND device_id = ${deviceId}`);
    return { count: int(row?.n ?? 0), bytes: int(row?.b ?? 0) };
  }

  async deleteForDevice(orgId: OrgId, deviceId: DeviceId): Promise<number> {
    return this.db.run(sql`DELETE FROM relay_queue WHERE org_id = ${orgId} AND device_id = ${deviceId}`);
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.run(sql`DELETE FROM relay_queue WHERE expires_at <= ${now}`);
  }

  async sendKeys(
    orgId: OrgId,
    refs: readonly { readonly deviceId: DeviceId; readonly key: string }[],
  ): Promise<SendKeyRecord[]> {
    if (refs.length === 0) return [];
    // Served by the (org_id, idem_key, device_id) primary key; the device is matched here, so
    // one IN list covers every sending device of the org in a batch.
    const wanted = new Set(refs.map((r) => `${r.deviceId} ${r.key}`));
    const rows = await allIn<{
      device_id: unknown;
      idem_key: unknown;
      request_hash: unknown;
      answer: unknown;
      created_at: unknown;
    }>(
      this.db,
      sql`SELECT device_id, idem_key, request_hash, answer, created_at FROM relay_send_keys
        WHERE org_id = ${orgId} AND idem_key IN`,
      [...new Set(refs.map((r) => r.key))],
    );
    const out: SendKeyRecord[] = [];
    for (const r of rows) {
      const deviceId = text(r.device_id) as DeviceId;
      const key = text(r.idem_key);
      if (!wanted.has(`${deviceId} ${key}`)) continue;
      out.push({
        deviceId,
        key,
        requestHash: bytes(r.request_hash),
        answer: text(r.answer),
        createdAt: int(r.created_at),
      });
    }
    return out;
  }

  async rememberSends(orgId: OrgId, records: readonly SendKeyRecord[]): Promise<number> {
    // ON CONFLICT DO NOTHING: on PostgreSQL, a row another transaction inserted and has not
    // committed yet makes this insert wait for it; once committed, the row is skipped and the
    // count says so (the relay then runs its batch again: group-commit RetryBatch).
    let stored = 0;
    for (const [offset, size] of chunks(records.length)) {
      const values: SqlValue[] = [];
      for (let i = offset; i < offset + size; i++) {
        const r = records[i]!;
        values.push(orgId, r.deviceId, r.key, r.requestHash, r.answer, r.createdAt);
      }
      stored += await this.db.run(
        multiRow(SEND_KEY_INSERT_HEAD, SEND_KEY_COLUMNS, size, values, SEND_KEY_INSERT_TAIL),
      );
    }
    return stored;
  }

  async deleteSendKeysBefore(cutoff: number, limit: number): Promise<number> {
    // A bounded delete, found through the (created_at) index: by rowid on SQLite; on
    // PostgreSQL by ctid, whose `= ANY(ARRAY(…))` form is a TID scan (rows here are never
    // updated, and the subquery and the delete share one snapshot).
    if (this.db.dialect === 'sqlite')
      return this.db.run(sql`DELETE FROM relay_send_keys WHERE rowid IN
        (SELECT rowid FROM relay_send_keys WHERE created_at < ${cutoff} LIMIT ${limit})`);
    return this.db.run(sql`DELETE FROM relay_send_keys WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM relay_send_keys WHERE created_at < ${cutoff} LIMIT ${limit}))`);
  }

  async announce(
    orgId: OrgId,
    deviceIds: readonly DeviceId[],
    event: 'queue' | 'revoked' = 'queue',
  ): Promise<void> {
    if (this.db.dialect !== 'postgres') return;
    // NOTIFY inside the transaction is delivered only if and when it commits.
    const keys = [...new Set(deviceIds)].map((d) => wakePayload(`${orgId}/${d}`, event));
    for (const [offset, size] of chunks(keys.length)) {
      const fragments = ['SELECT pg_notify('];
      for (let i = 0; i < size; i++) fragments.push(', ', i === size - 1 ? ')' : '), pg_notify(');
      const values: SqlValue[] = [];
      for (const k of keys.slice(offset, offset + size)) values.push(RELAY_NOTIFY_CHANNEL, k);
      await this.db.get({ fragments, values });
    }
  }

  async usersDevices(orgId: OrgId, userIds: readonly UserId[]): Promise<Map<UserId, DeviceState[]>> {
    const rows = await allIn<{ user_id: unknown; device_id: unknown; revoked_at: unknown }>(
      this.db,
      sql`SELECT user_id, device_id, revoked_at FROM devices WHERE org_id = ${orgId} AND user_id IN`,
      userIds,
    );
    const out = new Map<UserId, DeviceState[]>();
    for (const r of rows) {
      const userId = text(r.user_id) as UserId;
      const state = { deviceId: text(r.device_id) as DeviceId, revokedAt: intOrNull(r.revoked_at) };
      const list = out.get(userId);
      if (list === undefined) out.set(userId, [state]);
      else list.push(state);
    }
    return out;
  }

  async deviceStates(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, DeviceState>> {
    const rows = await allIn<{ device_id: unknown; revoked_at: unknown }>(
      this.db,
      sql`SELECT device_id, revoked_at FROM devices WHERE org_id = ${orgId} AND device_id IN`,
      deviceIds,
    );
    const out = new Map<DeviceId, DeviceState>();
    for (const r of rows) {
      const deviceId = text(r.device_id) as DeviceId;
      out.set(deviceId, { deviceId, revokedAt: intOrNull(r.revoked_at) });
    }
    return out;
  }

  async directoryVersion(orgId: OrgId): Promise<number> {
    const row = await this.db.get<{ version: unknown }>(
      sql`SELECT version FROM directory_versions WHERE org_id = ${orgId}`,
    );
    return row === undefined ? 0 : int(row.version);
  }

  async usages(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, Usage>> {
    const rows = await allIn<{ device_id: unknown; n: unknown; b: unknown }>(
      this.db,
      sql`SELECT device_id, COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM relay_queue
        WHERE org_id = ${orgId} AND device_id IN`,
      deviceIds,
      ' GROUP BY device_id',
    );
    const out = new Map<DeviceId, Usage>();
    for (const d of deviceIds) out.set(d, { count: 0, bytes: 0 });
    for (const r of rows) out.set(text(r.device_id) as DeviceId, { count: int(r.n), bytes: int(r.b) });
    return out;
  }

  async userDevices(orgId: OrgId, userId: UserId): Promise<DeviceState[]> {
    // Served by the (org_id, user_id, device_number) unique index: no scan of the org's devices.
    const rows = await this.db.all<{ device_id: unknown; revoked_at: unknown }>(
      sql`SELECT device_id, revoked_at FROM devices WHERE org_id = ${orgId} AND user_id = ${userId}`,
    );
    return rows.map((r) => ({ deviceId: text(r.device_id) as DeviceId, revokedAt: intOrNull(r.revoked_at) }));
  }
}
