/**
 * End to end, the server killed in the middle of a device's upload: a backlog of three
 * batches (pipelined, several in flight), the server process SIGKILLed while the second
 * batch is on its way and started again on the same data folder and address. The device's
 * upload retries (network failure, backoff) and completes; the log holds each record
 * exactly once, and every record's receipt verifies.
 */
import { join } from 'node:path';
import { CustosClient, LocalStore, loadProfile, uploadedThrough } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolUser,
  requestPath,
  restartServer,
  startWorld,
  stopServer,
  until,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { captureSealed, logSeqs } from './client-records.js';
import { kill9 } from './server-process.js';

/** Three upload batches of 1,000 (UPLOAD_BATCH_RECORDS). */
const RECORDS = 3000;

let world: ClientWorld<never> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let restarted: ServerProcess | undefined;

beforeAll(async () => {
  world = await startWorld('custos-upload-kill-');
  ({ dir, server, org } = world);
});

afterAll(async () => {
  if (restarted !== undefined) await stopServer(restarted);
  await world?.close();
});

/** Captures RECORDS records into the queue of the profile in `profileDir` (sealed, not uploaded). */
async function captureBacklog(profileDir: string): Promise<void> {
  const store = LocalStore.open(profileDir);
  try {
    await captureSealed(store, loadProfile(store), RECORDS, 'uploaded across a server crash');
  } finally {
    store.close();
  }
}

describe('archive upload across a server crash (real server process)', () => {
  it('retries after the server is killed mid-upload; the log holds each record once', async () => {
    const profileDir = join(dir, 'dave');
    await (await enrolUser(server, org.admin, profileDir)).close();
    await captureBacklog(profileDir);

    let posts = 0;
    let failed = 0;
    // The second batch leaves, the server dies under it, and comes back on the same folder
    // and port before the device learns that batch's fate.
    const crashing: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST' || requestPath(input) !== '/v1/archive/batches') return fetch(input, init);
      const n = ++posts;
      // Settled at once (no unhandled rejection while the server restarts), re-thrown below.
      const answer = fetch(input, init).then(
        (res) => ({ res }),
        (error: unknown) => ({ error }),
      );
      if (n === 2) {
        await kill9(server.child);
        restarted = await restartServer(server);
      }
      const a = await answer;
      if ('error' in a) {
        failed++;
        throw a.error;
      }
      return a.res;
    };
    const dave = CustosClient.open(profileDir, { api: { fetch: crashing } });
    try {
      expect(await dave.uploadArchive()).toBeGreaterThanOrEqual(RECORDS);
      expect(restarted).toBeDefined();
      // The kill cut at least the batch in flight: the upload went on only because it retried.
      expect(failed).toBeGreaterThan(0);
      expect(posts).toBeGreaterThan(RECORDS / 1000);
      expect(dave.archiveStatus().uploadedThrough).toBe(RECORDS - 1);

      let seqs: number[] = [];
      await until(
        async () => (seqs = await logSeqs(restarted!, org, dave.profile.deviceId)).length >= RECORDS,
        'a covering checkpoint',
        120_000,
      );
      expect(seqs).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
      await until(
        async () => (await dave.flushArchive(), dave.archiveStatus().queued === 0),
        'receipts',
        120_000,
      );
      expect(dave.archiveReceipts().map((r) => r.seq)).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
    } finally {
      await dave.close();
    }
    // uploadedThrough is read from the profile: nothing left to upload after reopening.
    const store = LocalStore.open(profileDir);
    expect(uploadedThrough(store)).toBe(RECORDS - 1);
    store.close();
  }, 300_000);
});
