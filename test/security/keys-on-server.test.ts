/**
 * Threat model F12 (and F13: the server's whole data folder handed to the tester). After a
 * real scenario, every key-like value the server holds — each PEM key, each 32-byte SQLite
 * blob and every 32-byte window of short blobs, each base64/base64url/hex string that
 * decodes to key-sized bytes, in every file, every database row, the server's command line
 * and environment — is tried against sealed records of that scenario as a bucket private
 * key (HPKE-opening the wrapped session key), as a session key and as a per-record key.
 * All fail. Positive controls: the organisation's real bucket key (held by the test, the
 * officer's side) opens the records; and that key planted in base64 in a file of the data
 * folder is found and opens them, which proves the extraction and the trials work.
 */
import { createDecipheriv, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  BucketPrivateKey,
  decodeBody,
  openRecordBytes,
  openSessionKey,
  parseRecord,
  recordKeyOf,
  SessionOpener,
  sessionKeyIdOf,
  type WrapContext,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWorld, stopServer, until, type ClientWorld } from '../client-support.js';
import { filesUnder } from './canary-search.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

/** Key length of X25519 private keys, session keys and record keys alike. */
const KEY_BYTES = 32;
/** Blobs up to this size also yield every 32-byte window (a key in a small structure: PKCS#8 is 48 bytes). */
const WINDOW_LIMIT = 96;
/** PKCS#8 DER prefix of a raw X25519 private key (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** Record key derivation and layout (docs/archive-format.md §4.3). */
const SALT_BYTES = 16;
const TAG_BYTES = 16;

const canary = `keys-${randomBytes(8).toString('hex')}`;
let world: ClientWorld<'alice' | 'bob'> | undefined;

/** A sealed record of the scenario and the wrapped session key it names. */
interface Sealed {
  readonly record: Uint8Array;
  readonly wrapped: Uint8Array;
  readonly parsed: ReturnType<typeof parseRecord>;
  /** The public key of the bucket the session key is wrapped to (registered on the server). */
  readonly bucketPublicKey: Buffer;
}
let sealed: Sealed[] = [];

/** Key-sized values in `text`: PEM keys, base64/base64url and hex strings. */
function fromText(text: string, add: (b: Uint8Array) => void): void {
  for (const m of text.matchAll(/-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g)) {
    const der = Buffer.from(m[0].replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    windows(der, add);
    try {
      const jwk = createPrivateKey(m[0]).export({ format: 'jwk' });
      if (typeof jwk.d === 'string') add(Buffer.from(jwk.d, 'base64url'));
    } catch {
      // not a private key
    }
  }
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{42,}={0,2}/g)) {
    for (const alphabet of ['base64', 'base64url'] as const) windows(Buffer.from(m[0], alphabet), add);
  }
  for (const m of text.matchAll(/[0-9a-fA-F]{64,}/g)) windows(Buffer.from(m[0], 'hex'), add);
}

/** `b` itself when key-sized, and every 32-byte window of a short `b`. */
function windows(b: Uint8Array, add: (b: Uint8Array) => void): void {
  if (b.length < KEY_BYTES || b.length > WINDOW_LIMIT) return;
  for (let i = 0; i + KEY_BYTES <= b.length; i++) add(b.subarray(i, i + KEY_BYTES));
}

/** Every key-like value in the data folder (files and database rows), the command line and environment. */
function collectCandidates(
  dataDir: string,
  commandLine: readonly string[],
  env: NodeJS.ProcessEnv,
): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const add = (b: Uint8Array): void => void seen.set(Buffer.from(b).toString('hex'), Uint8Array.from(b));
  for (const f of filesUnder(dataDir)) {
    const bytes = readFileSync(f);
    windows(bytes, add);
    fromText(bytes.toString('latin1'), add);
    if (!f.endsWith('.sqlite')) continue;
    const db = new Database(f, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      for (const { name } of tables) {
        for (const row of db.prepare(`SELECT * FROM "${name}"`).raw().iterate() as Iterable<unknown[]>) {
          for (const v of row) {
            if (Buffer.isBuffer(v)) {
              windows(v, add);
              fromText(v.toString('latin1'), add);
            } else if (typeof v === 'string') {
              fromText(v, add);
              if (Buffer.byteLength(v) === KEY_BYTES) add(Buffer.from(v));
            }
          }
        }
      }
    } finally {
      db.close();
    }
  }
  for (const v of [...commandLine, ...Object.values(env)]) {
    if (v === undefined) continue;
    fromText(v, add);
    if (Buffer.byteLength(v) === KEY_BYTES) add(Buffer.from(v));
  }
  return [...seen.values()];
}

/** The X25519 public key of a raw private key. */
function x25519PublicOf(key: Uint8Array): Buffer {
  const priv = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, key]),
    format: 'der',
    type: 'pkcs8',
  });
  return Buffer.from(createPublicKey(priv).export({ format: 'jwk' }).x!, 'base64url');
}

/**
 * What `key` opens among the sealed records: the wrapped session key as bucket private key
 * (an X25519 key opens the HPKE wrap exactly when its public key is the bucket's, so the
 * cheap comparison picks the candidates for the real HPKE open), the record as session
 * key, or its body as record key.
 */
async function opens(key: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  const pub = x25519PublicOf(key);
  for (const s of sealed) {
    if (pub.equals(s.bucketPublicKey)) {
      try {
        await openSessionKey(await BucketPrivateKey.fromBytes(key), s.wrapped);
        out.push('bucket private key');
      } catch {
        // a public-key match that does not open would itself be a finding
        out.push('bucket public key match that failed to open');
      }
    }
    const { header, headerBytes, sealedBody } = s.parsed;
    const context: WrapContext = { org: header.org, device: header.device, bucket: header.bucket };
    try {
      openRecordBytes(SessionOpener.create(header.sessionKeyId, context, Uint8Array.from(key)), s.record);
      out.push('session key');
    } catch {
      // expected
    }
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.alloc(12), { authTagLength: TAG_BYTES });
      d.setAAD(headerBytes);
      d.setAuthTag(sealedBody.subarray(sealedBody.length - TAG_BYTES));
      d.update(sealedBody.subarray(SALT_BYTES, sealedBody.length - TAG_BYTES));
      d.final();
      out.push('record key');
    } catch {
      // expected
    }
  }
  return out;
}

/** Each candidate (hex) that opens anything, with what it opened. */
async function anyOpens(candidates: readonly Uint8Array[]): Promise<Map<string, string[]>> {
  const hits = new Map<string, string[]>();
  for (const c of candidates) {
    const roles = await opens(c);
    if (roles.length > 0) hits.set(Buffer.from(c).toString('hex'), roles);
  }
  return hits;
}

beforeAll(async () => {
  world = await startWorld('custos-keys-on-server-', ['alice', 'bob']);
  const { alice, bob } = world.users;
  await alice.sendText(bob.me, `sealed ${canary}`);
  await bob.sync();
  await bob.sendText(alice.me, `reply ${canary}`);
  for (const c of [alice, bob]) {
    await until(async () => {
      await c.flushArchive();
      const s = c.archiveStatus();
      return s.queued === 0 && s.receipts === s.nextSeq;
    }, 'archive receipts');
  }
  // The tester gets the data folder as it rests: the server stopped, the WAL checkpointed.
  await stopServer(world.server);
  const db = new Database(join(world.server.dataDir, 'custos.sqlite'), { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT r.record AS record, k.wrapped AS wrapped FROM archive_records r
         JOIN archive_session_keys k ON k.org_id = r.org_id AND k.device_id = r.device_id
         ORDER BY r.device_id, r.seq`,
      )
      .all() as { record: Buffer; wrapped: Buffer }[];
    const bucketPublicKey = Buffer.from(world.org.bucket.publicKey.toBytes());
    // One record per session key: each device's first record under each key.
    const byKey = new Map<string, Sealed>();
    for (const r of rows) {
      const keyId = Buffer.from(parseRecord(r.record).header.sessionKeyId).toString('hex');
      if (!byKey.has(keyId)) {
        if (Buffer.from(sessionKeyIdOf(r.wrapped)).toString('hex') === keyId)
          byKey.set(keyId, {
            record: r.record,
            wrapped: r.wrapped,
            parsed: parseRecord(r.record),
            bucketPublicKey,
          });
      }
    }
    sealed = [...byKey.values()];
  } finally {
    db.close();
  }
});

afterAll(() => world?.close());

describe('keys on the server (F12, F13)', () => {
  it('positive control: the officer side’s bucket key opens the sealed records', async () => {
    expect(sealed.length).toBeGreaterThanOrEqual(2);
    const texts: string[] = [];
    for (const s of sealed) {
      const opener = await openSessionKey(world!.org.bucket.privateKey, s.wrapped);
      texts.push(decodeBody(openRecordBytes(opener, s.record).bodyBytes).text ?? '');
      // The record-key probe of opens() recognises a real record key, so its silence means something.
      expect(await opens(recordKeyOf(opener, s.record))).toEqual(['record key']);
    }
    expect(texts.some((t) => t.includes(canary))).toBe(true);
  });

  it('no key in the data folder, database rows, command line or environment opens anything; a planted one does', async () => {
    const server = world!.server;
    // Positive control: the real bucket key, planted in base64 in a file of the data folder.
    const planted = join(server.dataDir, 'planted-key.txt');
    const raw = Buffer.from(await world!.org.bucket.privateKey.exportBytes());
    writeFileSync(planted, `backup of something: ${raw.toString('base64')} end\n`);
    let candidates: Uint8Array[];
    try {
      candidates = collectCandidates(server.dataDir, server.child.spawnargs, process.env);
    } finally {
      unlinkSync(planted);
    }
    // The log-signing key's seed is among them (the server's one secret): it opens nothing.
    const pem = readFileSync(join(server.dataDir, 'log-signing.key'), 'utf8');
    const seed = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
    expect(candidates.some((c) => Buffer.from(c).equals(seed))).toBe(true);
    expect(candidates.length).toBeGreaterThan(100);
    const hits = await anyOpens(candidates);
    expect([...hits]).toEqual([[raw.toString('hex'), sealed.map(() => 'bucket private key')]]);
  });
});
