/**
 * End to end, attachments: encrypted on the device under a fresh key, uploaded as a
 * content-addressed blob, the pointer (id, key, digest, size, type, name) sent inside the
 * message; the receiver downloads, checks digest and size, and decrypts. A blob the server
 * alters is a clear warning and is never stored or archived as valid; archive records carry
 * each attachment's key and digest. The file's bytes (a canary) never reach the server in clear.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CustosClient } from '@custos/client';
import { isClientError } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allBytes,
  canaryHits,
  startWorld,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { queuedRecords } from './client-records.js';

const canary = `att-canary-${randomBytes(12).toString('hex')}`;
let world: ClientWorld<'alice' | 'bob' | 'carol'> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
let carol: CustosClient;

/** The server's file for a blob (the SQLite deployment stores blobs as files named by id). */
function blobFile(root: string, blobId: string): string {
  for (const f of readdirSync(root)) {
    const p = join(root, f);
    if (statSync(p).isDirectory()) {
      const found = blobFile(p, blobId);
      if (found !== '') return found;
    } else if (f === blobId) return p;
  }
  return '';
}

beforeAll(async () => {
  world = await startWorld('custos-attach-e2e-', ['alice', 'bob', 'carol']);
  ({ dir, server, org } = world);
  ({ alice, bob, carol } = world.users);
});

afterAll(() => world?.close());

describe('attachments end to end (real server process)', () => {
  const file = Buffer.concat([Buffer.from(`report ${canary}\n`), randomBytes(5000)]);

  it('uploads an encrypted blob and delivers a pointer the receiver checks and opens', async () => {
    const p = await alice.attachFile(file, { fileName: 'report.txt', contentType: 'text/plain' });
    expect(p.blobId).toBe(Buffer.from(p.digest).toString('hex'));
    expect(p.size).toBe(file.length);
    const sent = await alice.send(bob.me, { kind: 'message', text: 'see attached', attachments: [p] });
    const got = await bob.sync();
    expect(got).toHaveLength(1);
    const q = got[0]!.content.attachments![0]!;
    expect([q.fileName, q.contentType, q.size]).toEqual(['report.txt', 'text/plain', file.length]);
    expect(Buffer.from(await bob.downloadAttachment(q)).equals(file)).toBe(true);
    const stored = bob.messages(alice.me).find((m) => m.id === sent.content.id)!;
    expect(stored.attachments?.[0]?.blobId).toBe(p.blobId);
    // An empty text with an attachment is a message too; another org member can open it as well.
    const only = await alice.attachFile(new Uint8Array(0), { contentType: 'application/octet-stream' });
    await alice.send(carol.me, { kind: 'message', attachments: [only] });
    const c = await carol.sync();
    expect((await carol.downloadAttachment(c[0]!.content.attachments![0]!)).length).toBe(0);
  });

  it('archives attachment references with key and digest on both sides', async () => {
    for (const who of [alice, bob]) {
      const recs = await queuedRecords(who, org);
      const r = recs.find((x) => x.text === 'see attached')!;
      expect(r.attachments).toHaveLength(1);
      const a = r.attachments[0]!;
      expect(a.key.length).toBe(32);
      expect(Buffer.from(a.digest).toString('hex')).toBe(a.blobId);
      expect([a.fileName, a.contentType, a.size]).toEqual(['report.txt', 'text/plain', file.length]);
    }
  });

  it('refuses a blob whose digest does not match (altered on the server): a warning, never stored or archived', async () => {
    const p = await alice.attachFile(randomBytes(2000), {
      fileName: 'b.bin',
      contentType: 'application/octet-stream',
    });
    const path = blobFile(server.dataDir, p.blobId);
    expect(path).not.toBe('');
    const bytes = readFileSync(path);
    bytes[100]! ^= 1;
    writeFileSync(path, bytes);
    await expect(alice.downloadAttachment(p)).rejects.toSatisfy((e) =>
      isClientError(e, 'ATTACHMENT_DIGEST_MISMATCH'),
    );
    const before = (await queuedRecords(bob, org)).length;
    await alice.send(bob.me, { kind: 'message', text: 'tampered', attachments: [p] });
    expect(await bob.sync()).toEqual([]);
    const w = bob.warnings().filter((x) => x.kind === 'attachment-invalid');
    expect(w).toHaveLength(1);
    expect(w[0]!.detail).toMatch(/digest/);
    expect(bob.messages(alice.me).some((m) => m.text === 'tampered')).toBe(false);
    expect((await queuedRecords(bob, org)).length).toBe(before);
  });

  it('refuses a pointer with the wrong key (does not decrypt) and a missing blob', async () => {
    const p = await alice.attachFile(randomBytes(100), { contentType: 'image/png' });
    await alice.send(bob.me, {
      kind: 'message',
      text: 'wrong key',
      attachments: [{ ...p, key: randomBytes(32) }],
    });
    const missing = {
      ...p,
      blobId: 'ab'.repeat(32),
      digest: new Uint8Array(Buffer.from('ab'.repeat(32), 'hex')),
    };
    await alice.send(bob.me, { kind: 'message', text: 'missing', attachments: [missing] });
    expect(await bob.sync()).toEqual([]);
    const details = bob
      .warnings()
      .filter((x) => x.kind === 'attachment-invalid')
      .map((x) => x.detail);
    expect(details.slice(-2)).toEqual([
      expect.stringMatching(/does not decrypt/),
      expect.stringMatching(/not on the server/),
    ]);
  });

  it('never puts the file in clear on the server', async () => {
    await new Promise((r) => setTimeout(r, 300)); // let the server's WAL settle; not a timing assertion
    expect(canaryHits(allBytes(server.dataDir), canary)).toBe(0);
    for (const d of ['alice', 'bob']) expect(canaryHits(allBytes(join(dir, d)), canary)).toBe(0);
  });
});
