/**
 * The upload past records sealed to a disposed bucket (uploader.ts, chain-recovery.ts
 * disposedRun): once everything before them is acknowledged the device declares the run
 * lost (`bucket-disposed`), drops exactly those records once the server has accepted the
 * declaration, and uploads on in the same round; a declaration that fails changes nothing.
 * The server is played by a fetch that checks what a real one checks of the chain (batch
 * order and links, the declaration's signature and position); its own acceptance rules are
 * tested in packages/server/src/archive/archive-gaps.test.ts and end to end in
 * test/officer-disposition.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateBucketKeyPair,
  parseRecord,
  recordHashOf,
  verifyGapDeclaration,
  type RecordBody,
} from '@custos/core';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { VerifiedBucket } from '../enrol/org-keys.js';
import type { DeviceProfile } from '../profile.js';
import { LocalStore } from '../store/local-store.js';
import { ApiClient } from '../transport/api-client.js';
import { ArchiveCapture, decodeQueued, loadChain } from './capture.js';
import { declaredGaps } from './chain-recovery.js';
import { noteDisposedBucket } from './disposed-buckets.js';
import { isPending } from './pending-records.js';
import { ArchiveUploader, uploadedThrough } from './uploader.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2030, 0, 15);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const profile: DeviceProfile = {
  serverUrl: 'http://127.0.0.1:1',
  orgId: 'o'.repeat(22),
  orgName: 'Test',
  userId: 'u'.repeat(22),
  deviceId: 'd'.repeat(22),
  deviceNumber: 1,
  pinnedFingerprint: '',
  orgSigningKey: new Uint8Array(32),
  keyManager: { key: new Uint8Array(32), notBefore: 0, notAfter: NOW + 365 * DAY },
  retentionClass: 'standard',
  captureRequired: true,
  enrolledAt: 0,
};

async function putBucket(store: LocalStore, id: string): Promise<void> {
  const b = await generateBucketKeyPair();
  const v: VerifiedBucket = {
    bucketId: id,
    org: profile.orgId,
    retentionClass: 'standard',
    period: id,
    notBefore: NOW - DAY,
    notAfter: NOW + 10 * DAY,
    publicKey: b.publicKey.toBytes(),
    document: new Uint8Array(1),
  };
  store.putJson('buckets', id, v);
}

const body = (i: number): RecordBody => ({
  direction: 'sent',
  kind: 'message',
  messageId: `m${i}`,
  conversationId: 'dm.x',
  participants: ['a', 'b'],
  sender: 'a',
  sentAt: NOW,
  text: `hello ${i}`,
  attachments: [],
  archiveNotice: true,
  envelopeHashes: [new Uint8Array(32)],
});

/** The records of a binary batch body (batch-body.ts). */
function batchRecords(b: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(b);
  let at = 1 + 64;
  const keys = buf[at++]!;
  for (let i = 0; i < keys; i++) at += 4 + buf.readUInt32BE(at);
  const n = buf.readUInt16BE(at);
  at += 2;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = buf.readUInt32BE(at);
    out.push(Uint8Array.from(buf.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

/**
 * A server holding this device's chain: it takes batches that continue it and gap
 * declarations that start right after it and link to it (verified with the device key);
 * `failGaps` makes it answer the next declarations with that status and code instead.
 */
function chainServer(identity: PrivateKey) {
  const state = {
    head: { seq: -1, hash: new Uint8Array(32) as Uint8Array },
    stored: [] as number[],
    declared: [] as { firstSeq: number; lastSeq: number; reason: string }[],
    failGaps: undefined as { status: number; code: string } | undefined,
    logIndex: 0,
  };
  const json = (status: number, v: unknown) =>
    Promise.resolve(
      new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } }),
    );
  const f = (url: string, init?: { method?: string; body?: string | Uint8Array }) => {
    const path = new URL(url).pathname;
    if (path === '/v1/archive/batches') {
      const records = batchRecords(init!.body as Uint8Array);
      for (const r of records) {
        const h = parseRecord(r).header;
        expect(h.seq).toBe(state.head.seq + 1);
        expect(Buffer.from(h.prev).equals(Buffer.from(state.head.hash))).toBe(true);
        state.head = { seq: h.seq, hash: recordHashOf(r) };
        state.stored.push(h.seq);
      }
      return json(200, { logIndexes: records.map(() => state.logIndex++) });
    }
    if (path === '/v1/archive/gaps') {
      if (state.failGaps !== undefined)
        return json(state.failGaps.status, { error: { code: state.failGaps.code, message: 'no' } });
      const doc = Buffer.from(JSON.parse(init!.body as string).declaration as string, 'base64url');
      const d = verifyGapDeclaration(identity.getPublicKey().serialize(), doc);
      expect(d.firstSeq).toBe(state.head.seq + 1);
      expect(Buffer.from(d.prev).equals(Buffer.from(state.head.hash))).toBe(true);
      state.head = { seq: d.lastSeq, hash: d.resume };
      state.declared.push({ firstSeq: d.firstSeq, lastSeq: d.lastSeq, reason: d.reason });
      const logIndex = state.logIndex++;
      return json(200, {
        logIndex,
        stored: true,
        head: { seq: d.lastSeq, hash: Buffer.from(d.resume).toString('base64url') },
      });
    }
    throw new Error(`unexpected request ${path}`);
  };
  return { state, api: new ApiClient('http://127.0.0.1:1', { fetch: f }) };
}

/** The queue's sealed rows as (seq, bucket). */
const queued = (store: LocalStore) =>
  store
    .listAfter('archive-queue', -1, 1000)
    .filter((r) => !isPending(r.value))
    .map((r) => {
      const q = decodeQueued(r.value);
      return [q.seq, q.bucket];
    });

describe('upload past records sealed to a disposed bucket', () => {
  it('declares the run, drops it only once accepted, and uploads the rest in the same round', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-disposed-run-'));
    dirs.push(dir);
    const store = LocalStore.create(join(dir, 'p'), { kind: 'file' });
    await putBucket(store, 'b1');
    const capture = new ArchiveCapture(store, profile, () => NOW);
    const identity = PrivateKey.generate();
    const { state, api } = chainServer(identity);
    const uploader = new ArchiveUploader(store, api, profile, identity, { batchRecords: 2 });

    for (let i = 0; i < 2; i++) await capture.capture(body(i));
    expect(await uploader.uploadAll()).toBe(2); // 0–1 archived
    // 2–4 are sealed to b1, then the server reports b1 disposed of (the laptop in a drawer).
    for (let i = 2; i < 5; i++) await capture.capture(body(i));
    noteDisposedBucket(store, { bucketId: 'b1', planId: 'ab'.repeat(32), disposedAt: NOW });
    await putBucket(store, 'b2');
    for (let i = 5; i < 7; i++) await capture.capture(body(i));
    const before = queued(store);
    expect(before).toEqual([
      [0, 'b1'],
      [1, 'b1'],
      [2, 'b1'],
      [3, 'b1'],
      [4, 'b1'],
      [5, 'b2'],
      [6, 'b2'],
    ]);

    // A declaration that fails (overload, then a refusal) leaves the queue as it was.
    for (const fail of [
      { status: 503, code: 'LOG_PUSHBACK' },
      { status: 409, code: 'ARCHIVE_GAP_MISMATCH' },
    ]) {
      state.failGaps = fail;
      await expect(uploader.uploadAll(1)).rejects.toMatchObject({
        code: 'ARCHIVE_UPLOAD_FAILED',
        server: { code: fail.code },
      });
      expect(queued(store)).toEqual(before);
      expect(uploadedThrough(store)).toBe(1);
      expect(declaredGaps(store)).toEqual([]);
      expect(state.declared).toEqual([]);
    }

    // Accepted: 2–4 declared, dropped, and 5–6 uploaded in the same round, chaining from 4.
    state.failGaps = undefined;
    expect(await uploader.uploadAll(1)).toBe(2);
    expect(state.declared).toEqual([{ firstSeq: 2, lastSeq: 4, reason: 'bucket-disposed' }]);
    expect(state.stored).toEqual([0, 1, 5, 6]);
    expect(declaredGaps(store)).toEqual([
      { firstSeq: 2, lastSeq: 4, reason: 'bucket-disposed', logIndex: 2 },
    ]);
    expect(uploadedThrough(store)).toBe(6);
    expect(queued(store)).toEqual([
      [0, 'b1'],
      [1, 'b1'],
      [5, 'b2'],
      [6, 'b2'],
    ]);
    // Capture goes on after the chain as it was (the dropped records stay part of it).
    await capture.capture(body(7));
    expect(loadChain(store).nextSeq).toBe(8);
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([0, 1, 5, 6, 7]);
    capture.close();
    store.close();
  });

  it('declares a run that is the whole queue, and capture then continues after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-disposed-run-'));
    dirs.push(dir);
    const store = LocalStore.create(join(dir, 'p'), { kind: 'file' });
    await putBucket(store, 'b1');
    const capture = new ArchiveCapture(store, profile, () => NOW);
    const identity = PrivateKey.generate();
    const { state, api } = chainServer(identity);
    const uploader = new ArchiveUploader(store, api, profile, identity);
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    noteDisposedBucket(store, { bucketId: 'b1', planId: 'ab'.repeat(32), disposedAt: NOW });
    expect(await uploader.uploadAll(1)).toBe(0);
    expect(state.declared).toEqual([{ firstSeq: 0, lastSeq: 2, reason: 'bucket-disposed' }]);
    expect(queued(store)).toEqual([]);
    await putBucket(store, 'b2');
    await capture.capture(body(3));
    expect(await uploader.uploadAll(1)).toBe(1);
    expect(state.stored).toEqual([3]);
    capture.close();
    store.close();
  });
});
