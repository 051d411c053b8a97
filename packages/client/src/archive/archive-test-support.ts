/**
 * Fixtures the archive unit tests share (capture, disposed runs, disposal claims): a device
 * profile, a verified bucket stored as a refresh would store it, a record body, and local
 * stores in temporary folders. Tests only; nothing in the SDK imports it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBucketKeyPair, type RecordBody } from '@custos/core';
import type { VerifiedBucket } from '../enrol/org-keys.js';
import type { DeviceProfile } from '../profile.js';
import { LocalStore } from '../store/local-store.js';

export const DAY_MS = 86_400_000;
/** The tests' "now": mid-January 2030. */
export const TEST_NOW = Date.UTC(2030, 0, 15);

/** A device of a test org whose key-manager delegation covers a year from TEST_NOW. */
export const testProfile: DeviceProfile = {
  serverUrl: 'http://127.0.0.1:1',
  orgId: 'o'.repeat(22),
  orgName: 'Test',
  userId: 'u'.repeat(22),
  deviceId: 'd'.repeat(22),
  deviceNumber: 1,
  pinnedFingerprint: '',
  orgSigningKey: new Uint8Array(32),
  keyManager: { key: new Uint8Array(32), notBefore: 0, notAfter: TEST_NOW + 365 * DAY_MS },
  retentionClass: 'standard',
  captureRequired: true,
  enrolledAt: 0,
};

/** Stores a verified `standard` bucket `id` with a fresh key (by default, its window holds TEST_NOW). */
export async function putTestBucket(
  store: LocalStore,
  id: string,
  notBefore = TEST_NOW - DAY_MS,
  notAfter = TEST_NOW + 10 * DAY_MS,
): Promise<void> {
  const b = await generateBucketKeyPair();
  const v: VerifiedBucket = {
    bucketId: id,
    org: testProfile.orgId,
    retentionClass: 'standard',
    period: id,
    notBefore,
    notAfter,
    publicKey: b.publicKey.toBytes(),
    document: new Uint8Array(1),
  };
  store.putJson('buckets', id, v);
}

/** Message `i` of a 1:1 conversation, sent at TEST_NOW. */
export const testBody = (i: number): RecordBody => ({
  direction: 'sent',
  kind: 'message',
  messageId: `m${i}`,
  conversationId: 'dm.x',
  participants: ['a', 'b'],
  sender: 'a',
  sentAt: TEST_NOW,
  text: `hello ${i}`,
  attachments: [],
  archiveNotice: true,
  envelopeHashes: [new Uint8Array(32)],
});

/** Local stores in temporary folders; `removeAll` (in afterEach) deletes the folders. */
export class TempStores {
  readonly #dirs: string[] = [];

  /** A new file-backed store in a folder of its own. */
  open(prefix = 'custos-archive-test-'): LocalStore {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return LocalStore.create(join(dir, 'p'), { kind: 'file' });
  }

  removeAll(): void {
    for (const d of this.#dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
