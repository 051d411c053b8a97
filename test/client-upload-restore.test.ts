/**
 * End to end, a server restored from a backup taken before a device's last upload (the
 * operator's restore of docs/operations.md "Backups"): the device's acknowledged records are
 * gone from the server but still in its queue (not yet proven), and so is the session key
 * they were sealed under, which the device had marked as uploaded. The device must rewind,
 * upload the records again with their key, and end with verified receipts; before the fix
 * every later upload was refused (ARCHIVE_RECORD_INVALID: session key … is neither uploaded
 * nor stored).
 */
import { copyFileSync, rmSync } from 'node:fs';
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
import Database from 'better-sqlite3';
import { captureSealed } from './client-records.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolUser,
  restartServer,
  startWorld,
  stopServer,
  until,
  type ClientWorld,
  type ServerProcess,
} from './client-support.js';

const RECORDS = 3;

let world: ClientWorld<never> | undefined;
let restored: ServerProcess | undefined;

beforeAll(async () => {
  world = await startWorld('custos-upload-restore-');
});

afterAll(async () => {
  if (restored !== undefined) await stopServer(restored);
  await world?.close();
});

describe('archive upload after the server is restored from an older backup', () => {
  it('uploads the lost records again with their session key, and their receipts verify', async () => {
    const { dir, server, org } = world!;
    const profileDir = join(dir, 'dana');
    await (await enrolUser(server, org.admin, profileDir)).close();

    // The operator's backup, taken before dana archives anything.
    const database = join(server.dataDir, 'custos.sqlite');
    const backup = join(dir, 'backup.sqlite');
    const live = new Database(database, { readonly: true, fileMustExist: true });
    try {
      await live.backup(backup);
    } finally {
      live.close();
    }

    // Dana's device seals records under a new session key and uploads them (acknowledged,
    // not yet proven: they stay in the queue).
    const store = LocalStore.open(profileDir);
    const profile = loadProfile(store);
    const identityKey = loadLocalIdentity(store).privateKey;
    await captureSealed(store, profile, RECORDS, 'before the restore');
    const uploader = (): ArchiveUploader => {
      const api = new ApiClient(profile.serverUrl);
      api.setCredentials({ orgId: profile.orgId, deviceId: profile.deviceId, identityKey });
      return new ArchiveUploader(store, api, profile, identityKey);
    };
    expect(await uploader().uploadAll()).toBe(RECORDS);
    expect(uploadedThrough(store)).toBe(RECORDS - 1);

    // The server is restored: stopped, its database replaced by the backup, started again.
    await stopServer(server);
    for (const f of ['custos.sqlite-wal', 'custos.sqlite-shm'])
      rmSync(join(server.dataDir, f), { force: true });
    copyFileSync(backup, database);
    restored = await restartServer(server);

    // The device notices the rollback, rewinds and uploads the records again, keys included.
    const again = uploader();
    await again.resume();
    expect(uploadedThrough(store)).toBe(-1);
    expect(await again.uploadAll()).toBe(RECORDS);
    expect(uploadedThrough(store)).toBe(RECORDS - 1);
    store.close();

    // And their receipts verify against the restored server's log: the queue drains.
    const dana = CustosClient.open(profileDir);
    try {
      await until(
        async () => (await dana.flushArchive(), dana.archiveStatus().queued === 0),
        'receipts',
        60_000,
      );
      expect(dana.archiveReceipts().map((r) => r.seq)).toEqual([0, 1, 2]);
    } finally {
      await dana.close();
    }
  }, 180_000);
});
