/**
 * End to end, a server restored from a backup taken before a device's last upload (the
 * operator's restore of docs/operations.md "Backups"): the device's acknowledged records are
 * gone from the server but still in its queue (not yet proven), and so is the session key
 * they were sealed under, which the device had marked as uploaded. The device must rewind,
 * upload the records again with their key, and end with verified receipts; before the fix
 * every later upload was refused (ARCHIVE_RECORD_INVALID: session key … is neither uploaded
 * nor stored). Then, on the same server and device, the records lost are ones the device no
 * longer holds either (proven and dropped): it declares them missing in a signed gap
 * declaration, which the log shows, and its chain goes on; before, every later batch was
 * refused (ARCHIVE_SEQUENCE_GAP) for good (docs/archive-format.md §6.1). An officer's export
 * of the device then carries the signed declaration, and `custos verify` lists the run as
 * declared lost (docs/exports.md §5b). Last, a session key left marked uploaded by an older
 * client's rewind is sent again.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiClient,
  ArchiveUploader,
  CustosClient,
  declaredGaps,
  LocalStore,
  loadLocalIdentity,
  loadProfile,
  uploadedThrough,
} from '@custos/client';
import { fetchExportRecords, writeExport, type OfficerSession } from '@custos/console';
import type { LogEntry } from '@custos/core';
import Database from 'better-sqlite3';
import { captureSealed, logEntries } from './client-records.js';
import { custos } from './cli-support.js';
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

/** Takes the operator's backup of the live database (online, as docs/operations.md shows). */
async function backupDatabase(database: string, backup: string): Promise<void> {
  const live = new Database(database, { readonly: true, fileMustExist: true });
  try {
    await live.backup(backup);
  } finally {
    live.close();
  }
}

/** Stops `s`, replaces its database by `backup` (without the stale WAL) and starts it again. */
async function restore(s: ServerProcess, backup: string): Promise<ServerProcess> {
  await stopServer(s);
  for (const f of ['custos.sqlite-wal', 'custos.sqlite-shm']) rmSync(join(s.dataDir, f), { force: true });
  copyFileSync(backup, join(s.dataDir, 'custos.sqlite'));
  return restartServer(s);
}

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
    await backupDatabase(database, backup);

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
    restored = await restore(server, backup);

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

  it('declares the lost records it no longer holds, re-sends those it holds, and its chain goes on', async () => {
    const { dir, org } = world!;
    const profileDir = join(dir, 'dana');
    const server = restored!;
    const backup = join(dir, 'backup-2.sqlite');
    await backupDatabase(join(server.dataDir, 'custos.sqlite'), backup); // holds dana's 0…2

    // Records 3…5 are uploaded and proven (they leave the queue); 6…7 are acknowledged only.
    const store = LocalStore.open(profileDir);
    const profile = loadProfile(store);
    const deviceId = profile.deviceId;
    try {
      await captureSealed(store, profile, RECORDS, 'proven, then lost with the restore');
    } finally {
      store.close();
    }
    const proving = CustosClient.open(profileDir);
    try {
      await until(
        async () => (await proving.flushArchive(), proving.archiveStatus().queued === 0),
        'receipts of 3…5',
        60_000,
      );
    } finally {
      await proving.close();
    }
    const again = LocalStore.open(profileDir);
    try {
      await captureSealed(again, profile, 2, 'acknowledged, then lost with the restore');
      const identityKey = loadLocalIdentity(again).privateKey;
      const api = new ApiClient(profile.serverUrl);
      api.setCredentials({ orgId: profile.orgId, deviceId, identityKey });
      expect(await new ArchiveUploader(again, api, profile, identityKey).uploadAll()).toBe(2);
      expect(uploadedThrough(again)).toBe(7);
    } finally {
      again.close();
    }

    restored = await restore(server, backup);

    // The device declares 3…5 (nobody holds them any more) and sends 6…7 again.
    const last = LocalStore.open(profileDir);
    try {
      const identityKey = loadLocalIdentity(last).privateKey;
      const api = new ApiClient(profile.serverUrl);
      api.setCredentials({ orgId: profile.orgId, deviceId, identityKey });
      const uploader = new ArchiveUploader(last, api, profile, identityKey);
      await uploader.resume();
      expect(uploadedThrough(last)).toBe(5);
      expect(await uploader.uploadAll()).toBe(2);
      expect(uploadedThrough(last)).toBe(7);
      expect(declaredGaps(last)).toMatchObject([{ firstSeq: 3, lastSeq: 5, reason: 'server-restored' }]);
    } finally {
      last.close();
    }
    // The device's owner is told too, through the real CLI.
    const status = await custos(['archive', 'status', '--profile', profileDir]);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/Declared lost: records 3–5 \(server-restored, log \d+\)/);
    // The log shows the gap as what it is: a signed declaration, not records. (The device's
    // own proof checks now report the log's rollback as a split view — docs/operations.md.)
    let entries: LogEntry[] = [];
    await until(
      async () => {
        entries = await logEntries(restored!, org);
        return entries.some((e) => e.type === 'archive-record' && e.device === deviceId && e.seq === 7);
      },
      'the log to integrate records 6…7',
      60_000,
    );
    expect(entries.filter((e) => e.type === 'archive-gap')).toMatchObject([
      { device: deviceId, seq: 3, end: 5, reason: 'server-restored' },
    ]);
    const seqs = entries.flatMap((e) =>
      e.type === 'archive-record' && e.device === deviceId ? [e.seq] : [],
    );
    expect(seqs.sort((a, b) => a - b)).toEqual([0, 1, 2, 6, 7]);
  }, 180_000);

  it("an officer's export of the device carries its signed declaration, and custos verify lists the run as declared lost", async () => {
    // Before custody manifest version 3 the export showed records 0–2 and 6–7 and nothing
    // in between: an unexplained hole where the log holds the device's signed explanation.
    const { dir, org } = world!;
    const store = LocalStore.open(join(dir, 'dana'));
    const deviceId = loadProfile(store).deviceId;
    store.close();
    // The officer device of this world reads the archive as `custos console export --device`
    // does; the bucket key is the test's own (this world has no officer ceremony profile).
    const officerDir = join(dir, 'officer-export');
    mkdirSync(officerDir);
    const call = (method: string, path: string, body?: unknown) =>
      org.officer.api.request(method, path, body === undefined ? {} : { body });
    // `api` as well: every checkpoint is checked against the profile's last one (log-state.ts).
    const session = {
      orgId: org.orgId,
      dir: officerDir,
      call,
      api: { call },
      download: () => Promise.reject(new Error('no attachment is archived here')),
    } as unknown as OfficerSession;
    const fetched = await fetchExportRecords(
      session,
      { devices: [deviceId] },
      { bucketKey: () => Promise.resolve(org.bucket.privateKey) },
    );
    expect(fetched.records.map((r) => r.header.seq)).toEqual([0, 1, 2, 6, 7]);
    expect(fetched.gapDeclarations).toHaveLength(1);
    const out = join(dir, 'export-dana');
    await writeExport(
      {
        records: fetched.records,
        custodian: org.orgId,
        log: fetched.log,
        enrolments: fetched.enrolments,
        gapDeclarations: fetched.gapDeclarations,
      },
      { format: 'json', out },
    );
    // The auditor's check, offline, through the real CLI.
    const json = await custos(['verify', out, '--json', '--log-key', fetched.log.verifierKey]);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      records: 5,
      gapDeclarations: 'verified',
      declaredLost: [{ device: deviceId, firstSeq: 3, lastSeq: 5, reason: 'server-restored' }],
      unexplainedHoles: [],
    });
    const text = await custos(['verify', out, '--log-key', fetched.log.verifierKey]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `device ${deviceId} records 3–5: declared lost by the device \\(reason server-restored: the server was restored from an older backup after acknowledging them, log index \\d+\\)`,
      ),
    );
    expect(text.stdout).toContain("Holes no declaration explains: none in the devices' exported sequences.");
  }, 120_000);

  it('sends again a session key an older client left marked uploaded after its rewind', async () => {
    // An older client's rewind reset the upload position but left the session keys marked
    // uploaded: the server, which lost them in the restore, refused every later batch for
    // good (ARCHIVE_RECORD_INVALID: session key … is neither uploaded nor stored).
    const store = LocalStore.open(join(world!.dir, 'dana'));
    try {
      const profile = loadProfile(store);
      await captureSealed(store, profile, 2, 'sealed under a key the server never got');
      store.transaction(() => {
        for (const row of store.list('archive-state')) {
          const k = row.key.startsWith('skey:')
            ? store.getJson<{ uploaded: boolean }>('archive-state', row.key)
            : undefined;
          if (k?.uploaded === false) store.putJson('archive-state', row.key, { ...k, uploaded: true });
        }
      });
      const identityKey = loadLocalIdentity(store).privateKey;
      const api = new ApiClient(profile.serverUrl);
      api.setCredentials({ orgId: profile.orgId, deviceId: profile.deviceId, identityKey });
      expect(await new ArchiveUploader(store, api, profile, identityKey).uploadAll()).toBe(2);
      expect(uploadedThrough(store)).toBe(9);
    } finally {
      store.close();
    }
  }, 60_000);
});
