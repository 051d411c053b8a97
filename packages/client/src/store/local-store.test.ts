import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { decodeJson, encodeJson } from './json-codec.js';
import { LocalStore, profilePaths, STORE_SCHEMA_VERSION } from './local-store.js';
import { storageKeyKind } from './storage-key.js';

const WEAK = { allowWeakKdfForTests: true } as const;
const weakPass = (passphrase: string) =>
  ({ kind: 'passphrase', passphrase, kdf: { N: 2 ** 10, r: 8, p: 1 } }) as const;

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'custos-store-'));
  dirs.push(d);
  return join(d, 'profile');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every byte of every file in the profile folder (database, WAL, key file). */
function folderBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
}

function expectAbsent(haystack: Buffer, canary: string): void {
  for (const form of [
    Buffer.from(canary, 'utf8'),
    Buffer.from(canary, 'utf16le'),
    Buffer.from(Buffer.from(canary).toString('base64')),
    Buffer.from(Buffer.from(canary).toString('hex')),
  ]) {
    expect(haystack.includes(form)).toBe(false);
  }
}

describe('LocalStore', () => {
  it('round-trips values and keeps no plaintext (values or keys) in any file of the profile', () => {
    const dir = tempDir();
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const s = LocalStore.create(dir, weakPass('correct horse battery'), WEAK);
    s.put('messages', `key-${canary}`, Buffer.from(`hello ${canary}`), 1);
    s.putJson('contacts', 'c1', { name: canary, bytes: new Uint8Array([1, 2, 3]) });
    expect(Buffer.from(s.get('messages', `key-${canary}`)!).toString()).toBe(`hello ${canary}`);
    expect(s.getJson('contacts', 'c1')).toEqual({ name: canary, bytes: new Uint8Array([1, 2, 3]) });
    // Positive control: the search finds the canary when it is planted in clear.
    expect(Buffer.from(`x${canary}x`).includes(Buffer.from(canary))).toBe(true);
    expectAbsent(folderBytes(dir), canary);
    s.close();
    expectAbsent(folderBytes(dir), canary);
  });

  it('checkpointWal copies committed pages into the database file, and the rows still read back', () => {
    const dir = tempDir();
    const s = LocalStore.create(dir, { kind: 'file' });
    for (let i = 0; i < 40; i++) s.put('messages', `m${i}`, randomBytes(1000), i);
    const db = profilePaths(dir).db;
    const before = statSync(db).size;
    s.checkpointWal();
    expect(statSync(db).size).toBeGreaterThan(before + 30 * 1000);
    for (let i = 0; i < 40; i++) expect(s.get('messages', `m${i}`)!.length).toBe(1000);
    s.close();
    expect(() => s.checkpointWal()).toThrow();
  });

  it('uses private file modes', () => {
    const dir = tempDir();
    LocalStore.create(dir, { kind: 'file' }).close();
    const p = profilePaths(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(p.db).mode & 0o777).toBe(0o600);
    expect(statSync(p.key).mode & 0o777).toBe(0o600);
    expect(storageKeyKind(p.key)).toBe('file');
  });

  it('reopens with the passphrase and refuses a wrong or missing one', () => {
    const dir = tempDir();
    LocalStore.create(dir, weakPass('right passphrase'), WEAK).close();
    const s = LocalStore.open(dir, 'right passphrase', WEAK);
    s.close();
    for (const p of ['wrong passphrase', undefined]) {
      try {
        LocalStore.open(dir, p, WEAK);
        expect.unreachable();
      } catch (e) {
        expect(isClientError(e, 'STORE_LOCKED')).toBe(true);
      }
    }
  });

  it('is open once at a time: a second open is PROFILE_IN_USE until the first closes', () => {
    // The other process case, and a holder killed with SIGKILL: test/profile-lock.test.ts.
    const dir = tempDir();
    const s = LocalStore.create(dir, weakPass('right passphrase'), WEAK);
    s.put('contacts', 'a', Buffer.from('A'));
    // The lock comes before the key: even a wrong passphrase hears that the profile is in use.
    for (const p of ['right passphrase', 'wrong passphrase']) {
      try {
        LocalStore.open(dir, p, WEAK);
        expect.unreachable();
      } catch (e) {
        expect(isClientError(e, 'PROFILE_IN_USE')).toBe(true);
        expect((e as Error).message).toMatch(
          /another Custos process .* has this profile open: quit it first/,
        );
      }
    }
    expect(Buffer.from(s.get('contacts', 'a')!).toString()).toBe('A');
    s.close();
    // A failed open (wrong passphrase) releases the lock again; a closed store released it.
    expect(() => LocalStore.open(dir, 'wrong passphrase', WEAK)).toThrow(/wrong passphrase/);
    const again = LocalStore.open(dir, 'right passphrase', WEAK);
    expect(Buffer.from(again.get('contacts', 'a')!).toString()).toBe('A');
    again.close();
  });

  it('refuses weak scrypt parameters without the test flag', () => {
    expect(() => LocalStore.create(tempDir(), weakPass('x'))).toThrow(/N must be/);
  });

  it('detects a row moved to another key or table', () => {
    const dir = tempDir();
    const s = LocalStore.create(dir, { kind: 'file' });
    s.put('contacts', 'a', Buffer.from('A'));
    s.put('contacts', 'b', Buffer.from('B'));
    s.close();
    const db = new Database(profilePaths(dir).db);
    const rows = db.prepare("SELECT id, v FROM kv WHERE tbl = 'contacts'").all() as {
      id: Buffer;
      v: Buffer;
    }[];
    db.prepare("UPDATE kv SET v = ? WHERE tbl = 'contacts' AND id = ?").run(rows[1]!.v, rows[0]!.id);
    db.close();
    const r = LocalStore.open(dir);
    const bad = ['a', 'b'].filter((k) => {
      try {
        r.get('contacts', k);
        return false;
      } catch (e) {
        return isClientError(e, 'STORE_CORRUPT');
      }
    });
    expect(bad).toHaveLength(1);
    r.close();
  });

  it('lists ordered rows, counts, deletes and rolls back failed transactions', () => {
    const s = LocalStore.create(tempDir(), { kind: 'file' });
    for (const n of [3, 1, 2]) s.put('archive-queue', String(n), Buffer.from([n]), n);
    expect(s.list('archive-queue').map((r) => r.key)).toEqual(['1', '2', '3']);
    expect(s.listAfter('archive-queue', 1, 10).map((r) => r.ord)).toEqual([2, 3]);
    expect(s.count('archive-queue')).toBe(3);
    expect(() =>
      s.transaction(() => {
        s.delete('archive-queue', '1');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.count('archive-queue')).toBe(3);
    expect(s.delete('archive-queue', '1')).toBe(true);
    expect(s.delete('archive-queue', '1')).toBe(false);
    s.close();
    expect(() => s.get('archive-queue', '2')).toThrow(/closed/);
  });

  it('migrates a new file to the current schema version', () => {
    const dir = tempDir();
    LocalStore.create(dir, { kind: 'file' }).close();
    const db = new Database(profilePaths(dir).db);
    expect(db.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    db.close();
  });

  it('keeps the archive queue in its own table, encrypted, and detects a row moved to another seq', () => {
    const dir = tempDir();
    const s = LocalStore.create(dir, { kind: 'file' });
    const canary = `queue-canary-${randomBytes(8).toString('hex')}`;
    for (const n of [0, 1, 2]) s.put('archive-queue', String(n), Buffer.from(`${canary}-${n}`), n);
    expect(s.last('archive-queue')?.ord).toBe(2);
    expect(Buffer.from(s.get('archive-queue', '1')!).toString()).toBe(`${canary}-1`);
    expect(s.get('archive-queue', 'x')).toBeUndefined();
    expect(() => s.put('archive-queue', '3', Buffer.from('a'), 4)).toThrow(/keyed by their seq/);
    s.close();
    expectAbsent(folderBytes(dir), canary);
    const db = new Database(profilePaths(dir).db);
    expect(db.prepare('SELECT seq FROM archive_queue ORDER BY seq').all()).toEqual([
      { seq: 0 },
      { seq: 1 },
      { seq: 2 },
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM kv WHERE tbl = 'archive-queue'").get()).toEqual({ n: 0 });
    const row = db.prepare('SELECT v FROM archive_queue WHERE seq = 0').get() as { v: Buffer };
    db.prepare('UPDATE archive_queue SET v = ? WHERE seq = 1').run(row.v);
    db.close();
    const r = LocalStore.open(dir);
    expect(Buffer.from(r.get('archive-queue', '0')!).toString()).toBe(`${canary}-0`);
    expect(() => r.get('archive-queue', '1')).toThrow(/wrong key|does not decrypt/);
    r.close();
  });

  it('moves archive-queue rows of a schema-1 file into the queue table on open', () => {
    const dir = tempDir();
    LocalStore.create(dir, { kind: 'file' }).close();
    // Rebuild the file as schema 1 wrote it: queue rows in kv (HMAC row id, key inside the value).
    const key = Buffer.from(
      (JSON.parse(readFileSync(profilePaths(dir).key, 'utf8')) as { key: string }).key,
      'base64url',
    );
    const valueKey = Buffer.from(hkdfSync('sha256', key, 'custos-store-v1', 'values', 32));
    const idKey = Buffer.from(hkdfSync('sha256', key, 'custos-store-v1', 'row-ids', 32));
    const v1Row = (k: string, value: Buffer): { id: Buffer; v: Buffer } => {
      const id = createHmac('sha256', idKey).update(`archive-queue\0${k}`, 'utf8').digest();
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', valueKey, nonce);
      c.setAAD(Buffer.concat([Buffer.from('custos-store-v1\0archive-queue\0'), id]));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(Buffer.byteLength(k));
      const ct = Buffer.concat([c.update(Buffer.concat([len, Buffer.from(k), value])), c.final()]);
      return { id, v: Buffer.concat([nonce, ct, c.getAuthTag()]) };
    };
    const db = new Database(profilePaths(dir).db);
    db.exec('DROP TABLE archive_queue');
    db.pragma('user_version = 1');
    for (const n of [7, 8]) {
      const { id, v } = v1Row(String(n), Buffer.from(`record ${n}`));
      db.prepare("INSERT INTO kv (tbl, id, ord, v) VALUES ('archive-queue', ?, ?, ?)").run(id, n, v);
    }
    db.close();
    const s = LocalStore.open(dir);
    expect(s.list('archive-queue').map((r) => [r.ord, Buffer.from(r.value).toString()])).toEqual([
      [7, 'record 7'],
      [8, 'record 8'],
    ]);
    s.close();
    const after = new Database(profilePaths(dir).db);
    expect(after.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    expect(after.prepare("SELECT count(*) AS n FROM kv WHERE tbl = 'archive-queue'").get()).toEqual({ n: 0 });
    after.close();
  });

  it('bumps a table version on every write and every table on rollback', () => {
    const s = LocalStore.create(tempDir(), { kind: 'file' });
    const contacts = s.version('contacts');
    const queue = s.version('archive-queue');
    s.put('contacts', 'a', Buffer.from('A'));
    expect(s.version('contacts')).not.toBe(contacts);
    expect(s.version('archive-queue')).toBe(queue);
    const before = s.version('archive-queue');
    expect(() =>
      s.transaction(() => {
        s.put('contacts', 'b', Buffer.from('B'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.version('archive-queue')).not.toBe(before);
    s.close();
  });

  it('JSON codec keeps Buffers and Uint8Arrays as bytes', () => {
    const v = { a: Buffer.from([1, 2]), b: new Uint8Array([3]), c: 'x' };
    expect(decodeJson(encodeJson(v))).toEqual({ a: new Uint8Array([1, 2]), b: new Uint8Array([3]), c: 'x' });
  });
});
