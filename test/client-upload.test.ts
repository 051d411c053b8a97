/**
 * End to end, the pipelined archive upload against a real server process: several
 * batches in flight, in the binary body, with batches that overtake their predecessor
 * (the server refuses them with ARCHIVE_SEQUENCE_GAP; the device sends them again) and an
 * answer lost after the server stored the batch. The log must hold each record exactly
 * once, and the proofs must verify from the binary upload rows.
 */
import { join } from 'node:path';
import {
  ApiClient,
  ArchiveUploader,
  CustosClient,
  LocalStore,
  loadLocalIdentity,
  loadProfile,
  uploadedThrough,
} from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolUser,
  requestPath,
  startWorld,
  until,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { captureSealed, logSeqs } from './client-records.js';

const RECORDS = 600;
const BATCH = 50;

let world: ClientWorld<never> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;

beforeAll(async () => {
  world = await startWorld('custos-client-upload-');
  ({ dir, server, org } = world);
});

afterAll(() => world?.close());

describe('pipelined archive upload (real server process)', () => {
  it('uploads each record once when batches overtake each other and an answer is lost', async () => {
    const profileDir = join(dir, 'carol');
    await (await enrolUser(server, org.admin, profileDir)).close();
    const store = LocalStore.open(profileDir);
    const profile = loadProfile(store);
    await captureSealed(store, profile, RECORDS, 'pipelined');

    // Every third batch is held back so the next one overtakes it; the fifth answer is lost
    // after the server stored the batch.
    let posts = 0;
    const kinds = { gaps: 0, lost: 0, binary: 0 };
    const hostile: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST' || requestPath(input) !== '/v1/archive/batches') return fetch(input, init);
      const n = posts++;
      const type = new Headers(init.headers).get('content-type');
      if (type === 'application/vnd.custos.archive-batch') kinds.binary++;
      if (n % 3 === 0) await new Promise((r) => setTimeout(r, 150));
      const res = await fetch(input, init);
      if (res.status === 409 || res.status === 400) {
        const j = (await res.clone().json()) as { error?: { code?: string } };
        if (j.error?.code === 'ARCHIVE_SEQUENCE_GAP') kinds.gaps++;
      }
      if (n === 4 && res.ok) {
        kinds.lost++;
        throw new TypeError('connection reset');
      }
      return res;
    };
    const api = new ApiClient(profile.serverUrl, { fetch: hostile });
    api.setCredentials({
      orgId: profile.orgId,
      deviceId: profile.deviceId,
      identityKey: loadLocalIdentity(store).privateKey,
    });
    const uploader = new ArchiveUploader(store, api, profile, loadLocalIdentity(store).privateKey, {
      batchRecords: BATCH,
      pipelineDepth: 3,
    });
    expect(await uploader.uploadAll()).toBeGreaterThanOrEqual(RECORDS);
    expect(uploadedThrough(store)).toBe(RECORDS - 1);
    store.close();
    expect(kinds.binary).toBe(posts);
    expect(kinds.lost).toBe(1);
    expect(kinds.gaps).toBeGreaterThan(0);
    // Entries appear in the log's tiles once a checkpoint covers them (integration runs every 250 ms).
    let seqs: number[] = [];
    await until(
      async () => (seqs = await logSeqs(server, org, profile.deviceId)).length >= RECORDS,
      'a covering checkpoint',
    );
    expect(seqs).toEqual(Array.from({ length: RECORDS }, (_, i) => i));

    // The proofs verify from the binary upload rows, and the queue drains.
    const carol = CustosClient.open(profileDir);
    try {
      await until(
        async () => (await carol.flushArchive(), carol.archiveStatus().queued === 0),
        'receipts',
        120_000,
      );
      expect(carol.archiveReceipts().map((r) => r.seq)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    } finally {
      await carol.close();
    }
  }, 240_000);
});
