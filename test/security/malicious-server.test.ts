/**
 * A malicious server (docs/threat-model.md, "beyond the incident"): a real server process
 * behind a tampering layer that plays the operator, who holds the data folder and so the
 * log-signing key. It (a) substitutes a bucket key, (b) drops an archived record from the
 * log, (c) reorders a device's records, (d) shows two auditors two different logs. Each is
 * detected by the existing code paths and said so: the device's key-chain check refuses the
 * bucket and seals nothing to it; the device's receipt check finds its record missing or
 * out of place in the log (and keeps the record queued); `custos verify log` fails with
 * LOG_FORK on the forked view, both against the other auditor's checkpoint and, later, by
 * the consistency proof of the forked witness's own next run.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  decodeEntryBundle,
  decodeLogEntry,
  Ed25519NoteSigner,
  encodeEntryBundle,
  openRecordBytes,
  openSessionKey,
  parseCheckpoint,
  parseNote,
  parseRecord,
  sessionKeyIdOf,
  signCheckpoint,
  verifyChain,
  sealBucketKeyDocument,
} from '@custos/core';
import { CustosClient, isClientError } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requestPath, startWorld, until, type ClientWorld } from '../client-support.js';
import { custos } from '../cli-support.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 300_000 });

/** Rewrites one response body (by request path), or leaves it (undefined). */
type Rewrite = (path: string, body: Buffer) => Buffer | undefined;

let world: ClientWorld<'alice' | 'bob'> | undefined;
const opened: CustosClient[] = [];
const proxies: Server[] = [];

/** The operator's copy of the log-signing key (in the data folder it controls). */
const logKeyPem = (): string => readFileSync(join(world!.server.dataDir, 'log-signing.key'), 'utf8');

/** A fetch that passes requests to the real server and rewrites answers with `rewrite()`. */
function tamperingFetch(rewrite: () => Rewrite | undefined): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const r = rewrite();
    if (r === undefined) return res;
    const body = Buffer.from(await res.arrayBuffer());
    const out = r(requestPath(input), body) ?? body;
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(out, { status: res.status, headers });
  };
}

/** An HTTP proxy in front of `upstream` whose answers pass through `rewrite` (for the CLI). */
async function startProxy(upstream: string, rewrite: Rewrite): Promise<string> {
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers.set(k, v);
      const r = await fetch(`${upstream}${req.url}`, {
        method: req.method!,
        headers,
        ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) }),
      });
      const body = Buffer.from(await r.arrayBuffer());
      const out = rewrite(new URL(req.url!, upstream).pathname, body) ?? body;
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) h[k] = v;
      });
      res.writeHead(r.status, h).end(out);
    })().catch(() => res.destroy());
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * Reopens a user's profile behind a tampering fetch. A profile is open in one place at a time
 * (its lock): the world's own handle, and an earlier test's tampering handle on it, close first.
 */
async function behind(name: 'alice' | 'bob', rewrite: () => Rewrite | undefined): Promise<CustosClient> {
  await world!.users[name].close();
  const deviceId = world!.users[name].profile.deviceId;
  for (let i = opened.length - 1; i >= 0; i--) {
    if (opened[i]!.profile.deviceId !== deviceId) continue;
    await opened[i]!.close();
    opened.splice(i, 1);
  }
  const c = CustosClient.open(join(world!.dir, name), { api: { fetch: tamperingFetch(rewrite) } });
  opened.push(c);
  return c;
}

/** Flushes until the archive check throws; resolves to the error. */
async function flushUntilRefused(c: CustosClient): Promise<unknown> {
  let err: unknown;
  await until(
    async () => {
      try {
        await c.flushArchive();
        return false;
      } catch (e) {
        err = e;
        return true;
      }
    },
    'the archive check to refuse the tampered log',
    60_000,
  );
  return err;
}

/**
 * An entry-bundle rewrite that hands `edit` the bundle's entries and the indexes of
 * `device`'s archive-record entries with sequence numbers from `fromSeq` on (in order).
 */
function bundleRewrite(
  device: string,
  fromSeq: number,
  edit: (entries: Uint8Array[], mine: number[]) => void,
): Rewrite {
  return (path, body) => {
    if (!/\/log\/tile\/entries\//.test(path)) return undefined;
    const entries = decodeEntryBundle(body);
    const mine = entries.flatMap((e, i) => {
      const d = decodeLogEntry(e);
      return d.type === 'archive-record' && d.device === device && d.seq >= fromSeq ? [i] : [];
    });
    if (mine.length === 0) return undefined;
    edit(entries, mine);
    return Buffer.from(encodeEntryBundle(entries));
  };
}

beforeAll(async () => {
  world = await startWorld('custos-malicious-server-', ['alice', 'bob']);
});

afterAll(async () => {
  for (const p of proxies) p.close();
  await world?.close(opened);
});

describe('a malicious server is detected', () => {
  it('(a) a substituted bucket key (signed with the operator’s only key) is refused; nothing is sealed to it', async () => {
    const attacker = randomBytes(32);
    const forged = sealBucketKeyDocument(
      {
        org: world!.org.orgId,
        bucket: world!.org.bucketId,
        retentionClass: 'standard',
        period: world!.org.bucketId.slice('standard-'.length),
        notBefore: Date.now() - 1000,
        notAfter: Date.now() + 86_400_000,
        publicKey: attacker,
      },
      createPrivateKey(logKeyPem()),
    );
    const swap: Rewrite = (path, body) => {
      if (!path.endsWith('/buckets')) return undefined;
      const list = JSON.parse(body.toString()) as { buckets: Record<string, unknown>[] };
      const buckets = list.buckets.map((b) => ({
        ...b,
        document: Buffer.from(forged).toString('base64url'),
      }));
      return Buffer.from(JSON.stringify({ ...list, buckets }));
    };
    const alice = await behind('alice', () => swap);
    const r = await alice.refreshKeys();
    expect(r.accepted).toEqual([]);
    expect(r.refused).toEqual([
      { bucketId: world!.org.bucketId, reason: expect.stringMatching(/signature/) },
    ]);
    expect(alice.archiveStatus().refusedBuckets).toHaveLength(1);
    // Alice still seals to the bucket key she verified before: the officer's key opens her record.
    await alice.sendText(world!.users.bob.me, 'sealed to the genuine bucket');
    await alice.uploadArchive();
    const db = new Database(join(world!.server.dataDir, 'custos.sqlite'), { readonly: true });
    try {
      const last = db
        .prepare('SELECT record FROM archive_records WHERE device_id = ? ORDER BY seq DESC LIMIT 1')
        .get(alice.profile.deviceId) as { record: Buffer };
      const keyId = parseRecord(last.record).header.sessionKeyId;
      const keys = db
        .prepare('SELECT wrapped FROM archive_session_keys WHERE device_id = ?')
        .all(alice.profile.deviceId) as { wrapped: Buffer }[];
      const wrapped = keys.find((k) =>
        Buffer.from(sessionKeyIdOf(k.wrapped)).equals(Buffer.from(keyId)),
      )!.wrapped;
      const opener = await openSessionKey(world!.org.bucket.privateKey, wrapped);
      expect(parseRecord(last.record).header.device).toBe(alice.profile.deviceId);
      expect(openRecordBytes(opener, last.record).bodyBytes.length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    await until(async () => (await alice.flushArchive()).proofs.waiting === 0, 'receipts');
  });

  it('(b) a record dropped from the log after its upload: the receipt check fails and the record stays queued', async () => {
    let rewrite: Rewrite | undefined;
    const bob = await behind('bob', () => rewrite);
    // From the next record on, the operator replaces bob's entry by another entry of the log
    // (as if it never stored the record). Set before sending: the client may verify at once.
    rewrite = bundleRewrite(bob.profile.deviceId, bob.archiveStatus().nextSeq, (entries, mine) => {
      const victim = mine[0]!;
      entries[victim] = entries[victim === 0 ? 1 : victim - 1]!;
    });
    await bob.sendText(world!.users.alice.me, 'this one will be dropped');
    const err = await flushUntilRefused(bob);
    expect(isClientError(err) && err.code).toBe('RECEIPT_INVALID');
    expect((err as Error).message).toMatch(/is not the entry of record \d+/);
    expect(bob.archiveStatus().queued).toBeGreaterThan(0);
    // The honest log verifies, and only then does the record leave the queue.
    rewrite = undefined;
    await until(async () => (await bob.flushArchive()).proofs.waiting === 0, 'receipts');
    expect(bob.archiveStatus().queued).toBe(0);
  });

  it('(c) a device’s records reordered in the log: the receipt check names the record out of place', async () => {
    const tamper: { rewrite?: Rewrite } = {};
    const bob = opened.find((c) => c.profile.deviceId === world!.users.bob.profile.deviceId)!;
    const tampered = await behind('alice', () => tamper.rewrite);
    // The operator swaps the entries of alice's next two records (set before sending, as above).
    tamper.rewrite = bundleRewrite(
      tampered.profile.deviceId,
      tampered.archiveStatus().nextSeq,
      (entries, mine) => {
        if (mine.length < 2) return;
        const [x, y] = mine as [number, number];
        [entries[x], entries[y]] = [entries[y]!, entries[x]!];
      },
    );
    for (const t of ['first', 'second']) await tampered.sendText(bob.me, t);
    const err = await flushUntilRefused(tampered);
    expect(isClientError(err) && err.code).toBe('RECEIPT_INVALID');
    expect((err as Error).message).toMatch(/is not the entry of record \d+/);
    expect(tampered.archiveStatus().queued).toBeGreaterThan(0);
    // An auditor reading the device's records in the order such a server serves them finds
    // the hash chain broken (the check behind export custody verification).
    const db = new Database(join(world!.server.dataDir, 'custos.sqlite'), { readonly: true });
    let records: Buffer[];
    try {
      records = (
        db
          .prepare('SELECT record FROM archive_records WHERE device_id = ? ORDER BY seq')
          .all(tampered.profile.deviceId) as { record: Buffer }[]
      ).map((r) => r.record);
    } finally {
      db.close();
    }
    expect(verifyChain(records)).toHaveLength(records.length);
    const n = records.length;
    [records[n - 1], records[n - 2]] = [records[n - 2]!, records[n - 1]!];
    expect(() => verifyChain(records)).toThrow(expect.objectContaining({ code: 'CHAIN_BROKEN' }));
    // A record left out (a dropped one) is a sequence gap.
    [records[n - 1], records[n - 2]] = [records[n - 2]!, records[n - 1]!];
    records.splice(n - 2, 1);
    expect(() => verifyChain(records)).toThrow(/sequence number/);
  });

  it('(d) two auditors shown two logs: verify log reports LOG_FORK (compare, then consistency proof)', async () => {
    const { url } = world!.server;
    const orgId = world!.org.orgId;
    const signerFor = (origin: string) => new Ed25519NoteSigner(origin, createPrivateKey(logKeyPem()));
    /** The operator's forked view: every checkpoint re-signed over another root. */
    const fork = (note: string): string => {
      const cp = parseCheckpoint(parseNote(note).text);
      const root = Uint8Array.from(cp.rootHash);
      root[0]! ^= 0xff;
      return signCheckpoint({ ...cp, rootHash: root }, signerFor(cp.origin));
    };
    const forking: Rewrite = (path, body) => {
      if (path === `/v1/orgs/${orgId}/log/checkpoint`) return Buffer.from(fork(body.toString()));
      if (path !== `/v1/orgs/${orgId}/log`) return undefined;
      const head = JSON.parse(body.toString()) as { checkpoint: string };
      return Buffer.from(JSON.stringify({ ...head, checkpoint: fork(head.checkpoint) }));
    };
    const proxy = await startProxy(url, forking);
    const verify = (server: string, state: string, ...extra: string[]) =>
      custos([
        'verify',
        'log',
        '--server',
        server,
        '--org',
        orgId,
        '--state',
        join(world!.dir, state),
        ...extra,
      ]);

    const a = await verify(url, 'auditor-a.json', '--json');
    const b = await verify(proxy, 'auditor-b.json', '--json');
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]); // each alone sees a valid, signed log
    // They exchange the checkpoints they saw.
    const seenA = join(world!.dir, 'seen-a.txt');
    const seenB = join(world!.dir, 'seen-b.txt');
    writeFileSync(seenA, await (await fetch(`${url}/v1/orgs/${orgId}/log/checkpoint`)).text());
    writeFileSync(seenB, await (await fetch(`${proxy}/v1/orgs/${orgId}/log/checkpoint`)).text());
    const aCompares = await verify(url, 'auditor-a.json', '--compare', seenB);
    expect(aCompares.status).toBe(1);
    expect(aCompares.stderr).toMatch(/LOG_FORK/);
    const bCompares = await verify(proxy, 'auditor-b.json', '--compare', seenA);
    expect(bCompares.status).toBe(1);
    expect(bCompares.stderr).toMatch(/LOG_FORK/);

    // The log grows; the forked auditor's own next run fails the consistency proof.
    const before = parseCheckpoint(parseNote(readFileSync(seenA, 'utf8')).text).treeSize;
    await world!.org.admin.api.request('POST', `/v1/orgs/${orgId}/users`, { body: { role: 'member' } });
    await until(
      async () => {
        const r = await fetch(`${url}/v1/orgs/${orgId}/log`);
        return ((await r.json()) as { treeSize: number }).treeSize > before;
      },
      'a larger checkpoint',
      60_000,
    );
    const bLater = await verify(proxy, 'auditor-b.json');
    expect(bLater.status).toBe(1);
    expect(bLater.stderr).toMatch(/LOG_FORK/);
    const aLater = await verify(url, 'auditor-a.json', '--json');
    expect(aLater.status, aLater.stderr).toBe(0);
    expect((JSON.parse(aLater.stdout) as { outcome: string }).outcome).toBe('extended');
  });
});
