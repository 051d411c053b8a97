import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { decodeJson, encodeJson, LocalStore, profilePaths, STORE_SCHEMA_VERSION } from './local-store.js';
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

  it('JSON codec keeps Buffers and Uint8Arrays as bytes', () => {
    const v = { a: Buffer.from([1, 2]), b: new Uint8Array([3]), c: 'x' };
    expect(decodeJson(encodeJson(v))).toEqual({ a: new Uint8Array([1, 2]), b: new Uint8Array([3]), c: 'x' });
  });
});
