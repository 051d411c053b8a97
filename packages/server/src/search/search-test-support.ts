/**
 * Test and bench support for search: an org, archive records with chosen blind tokens
 * written the way ingest writes them (records and their log entries in one transaction,
 * through sequenceEntries), and a log integrator, so the indexer sees a real store.
 * The bodies are opaque bytes: the server never opens them.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  canonicalTokens,
  encodeHeader,
  encodeLogEntry,
  frameRecord,
  genesisPrevHash,
  recordHashOf,
  type BucketId,
  type DeviceId as CoreDeviceId,
  type OrgId as CoreOrgId,
  type RecordHash,
  type SessionKeyId,
} from '@custos/core';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import { silentLogger } from '../log/logger.js';
import type { LogKey } from '../log-service/checkpoint-signing.js';
import { LogIntegrator } from '../log-service/integration.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { NewArchiveRecord } from '../store/archive-stores.js';
import type { Stores } from '../store/stores.js';
import { createTestOrgRow, testLogKey } from '../testing/test-org-row.js';

/** One log key for every fixture of a process (an org's checkpoints all verify under it). */
export const FIXTURE_LOG_KEY: LogKey = testLogKey();

/** Creates an org row (no real key material: search never checks it). */
export function createSearchOrg(stores: Stores): Promise<OrgId> {
  return createTestOrgRow(stores, 'Search Test');
}

/** One device's chain of synthetic records. */
export class SyntheticDevice {
  seq = 0;
  prev: RecordHash = genesisPrevHash();
  readonly deviceId: DeviceId;
  /** Stand-in wrapped session key (opaque to the server); its id is its SHA-256, as in the format. */
  readonly wrappedKey: Uint8Array = randomBytes(120);
  readonly #skey = createHash('sha256').update(this.wrappedKey).digest() as Uint8Array as SessionKeyId;

  constructor(
    readonly orgId: OrgId,
    readonly bucketId: string,
    deviceId?: DeviceId,
  ) {
    this.deviceId = deviceId ?? newId<DeviceId>();
  }

  /** The next record carrying `tokens` (16 bytes each, any order) and `body` as its sealed body (≥ 32 bytes). */
  next(
    tokens: readonly Uint8Array[],
    body: Uint8Array = randomBytes(64),
  ): { bytes: Uint8Array; hash: RecordHash; seq: number } {
    const header = encodeHeader({
      version: 1,
      org: this.orgId as string as CoreOrgId,
      device: this.deviceId as string as CoreDeviceId,
      bucket: this.bucketId as BucketId,
      seq: this.seq,
      prev: this.prev,
      sessionKeyId: this.#skey,
      tokens: canonicalTokens(tokens),
      sealedBodyBytes: body.length,
      attachmentBytes: 0,
    });
    const bytes = frameRecord(header, body);
    const hash = recordHashOf(bytes);
    const out = { bytes, hash, seq: this.seq };
    this.prev = hash;
    this.seq++;
    return out;
  }
}

/** A record to store with the device that made it. */
export interface SyntheticRecord {
  readonly device: SyntheticDevice;
  readonly bytes: Uint8Array;
  readonly hash: RecordHash;
  readonly seq: number;
}

/** Stores records and their archive-record log entries in one transaction, as ingest does; resolves to their log indexes. */
export async function storeRecords(
  stores: Stores,
  orgId: OrgId,
  records: readonly SyntheticRecord[],
  now = 1,
): Promise<number[]> {
  return stores.withTransaction(async (tx) => {
    const entries = records.map((r) =>
      encodeLogEntry({
        type: 'archive-record',
        hash: r.hash,
        size: r.bytes.length,
        actor: r.device.deviceId,
        time: now,
        org: orgId as string as CoreOrgId,
        device: r.device.deviceId as string as CoreDeviceId,
        seq: r.seq,
        bucket: r.device.bucketId as BucketId,
      }),
    );
    const first = await sequenceEntries(tx, orgId, entries);
    const rows: NewArchiveRecord[] = records.map((r, i) => ({
      deviceId: r.device.deviceId,
      seq: r.seq,
      hash: r.hash,
      bucketId: r.device.bucketId,
      logIndex: first + i,
      receivedAt: now,
      bytes: r.bytes,
    }));
    const devices = [...new Set(records.map((r) => r.device))];
    await tx.archive.putSessionKeys(
      orgId,
      devices.map((d) => ({
        keyId: createHash('sha256').update(d.wrappedKey).digest(),
        deviceId: d.deviceId,
        wrapped: d.wrappedKey,
        receivedAt: now,
      })),
    );
    await tx.archive.insert(orgId, rows);
    return rows.map((r) => r.logIndex);
  });
}

/** A log integrator over `stores` with a throw-away key (tests and benches). */
export function testIntegrator(stores: Stores, key: LogKey = testLogKey()): LogIntegrator {
  return new LogIntegrator({ stores, key, host: () => 'custos.test', logger: silentLogger });
}
