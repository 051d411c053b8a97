/**
 * Crash safety of archive ingest and the log (issue 3): the real `custos server` process on
 * SQLite, loaded with signed batches from several devices while an auditor collects every
 * checkpoint; `kill -9` mid-load; restart on the same data folder. Then: every acknowledged
 * record is stored with the index it was acknowledged with, the tree verifies against every
 * checkpoint issued before the crash (consistency proofs from the restarted server), and
 * consecutive checkpoints across the crash are consistent.
 */
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BucketPublicKey,
  createSessionSealer,
  generateBucketKeyPair,
  genesisPrevHash,
  openCheckpoint,
  sealRecordBytes,
  signBatch,
  verifyConsistency,
  type BucketId,
  type DeviceId as CoreDeviceId,
  type OrgId as CoreOrgId,
  type RecordHash,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authChallengeMessage } from '../packages/server/src/auth/challenge-message.js';
import type { DeviceId, OrgId } from '../packages/server/src/ids.js';
import { deviceKeys, orgCreateBody } from '../packages/server/src/testing/test-app.js';
import { freePort, startServerProcess } from './server-process.js';

const DEVICES = 4;
const WINDOW = { notBefore: 1_600_000_000_000, notAfter: 2_000_000_000_000 };

async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

interface Device {
  deviceId: string;
  identity: PrivateKey;
  headers: Record<string, string>;
}

async function enrol(base: string, orgId: string, code: string): Promise<Device> {
  const keys = deviceKeys(1, 1);
  const r = await http(base, 'POST', `/v1/orgs/${orgId}/devices`, { ...keys.body, enrolmentCode: code });
  const { deviceId } = r.json() as { deviceId: string };
  const c = (await http(base, 'POST', '/v1/auth/challenge', { orgId, deviceId })).json() as Record<
    string,
    string
  >;
  const msg = authChallengeMessage({
    origin: c.origin!,
    orgId: orgId as OrgId,
    deviceId: deviceId as DeviceId,
    challenge: c.challenge!,
  });
  const signature = Buffer.from(keys.identity.sign(new Uint8Array(msg))).toString('base64url');
  const t = await http(base, 'POST', '/v1/auth/token', {
    orgId,
    deviceId,
    challengeId: c.challengeId,
    signature,
  });
  const token = (t.json() as { token: string }).token;
  return {
    deviceId,
    identity: keys.identity,
    headers: { authorization: `Bearer ${token}`, 'custos-device': deviceId },
  };
}

const raw = (k: KeyObject) => Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url');

describe('archive and log survive kill -9 (real server process, SQLite)', () => {
  let dir: string;
  let child: ChildProcess | null = null;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-crash-'));
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged record and a consistent log across SIGKILL', async () => {
    const data = join(dir, 'data');
    let base = `http://127.0.0.1:${await freePort()}`;
    child = await startServerProcess(data, Number(new URL(base).port));
    const token = readFileSync(join(data, 'bootstrap'), 'utf8').trim();

    const orgKey = generateKeyPairSync('ed25519');
    const km = generateKeyPairSync('ed25519');
    const delegation = sealKeyManagerDelegation({ key: raw(km.publicKey), ...WINDOW }, orgKey.privateKey);
    const o = await http(base, 'POST', '/v1/orgs', {
      ...orgCreateBody(token),
      signingPublicKey: raw(orgKey.publicKey).toString('base64url'),
      keyManager: { delegation: Buffer.from(delegation).toString('base64url'), ...WINDOW },
    });
    expect(o.status, o.text).toBe(201);
    const { orgId, enrolmentCode } = o.json() as { orgId: string; enrolmentCode: string };
    const admin = await enrol(base, orgId, enrolmentCode);
    const bucket = await generateBucketKeyPair();
    const doc = sealBucketKeyDocument(
      {
        org: orgId,
        bucket: 'std-2026',
        retentionClass: 'standard',
        period: '2026',
        ...WINDOW,
        publicKey: bucket.publicKey.toBytes(),
      },
      km.privateKey,
    );
    const reg = await http(
      base,
      'POST',
      `/v1/orgs/${orgId}/buckets`,
      { document: Buffer.from(doc).toString('base64url') },
      admin.headers,
    );
    expect(reg.status, reg.text).toBe(201);
    const devices: Device[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const u = (
        await http(base, 'POST', `/v1/orgs/${orgId}/users`, { role: 'member' }, admin.headers)
      ).json();
      const c = (
        await http(
          base,
          'POST',
          `/v1/orgs/${orgId}/users/${String(u.userId)}/enrolment-codes`,
          {},
          admin.headers,
        )
      ).json();
      devices.push(await enrol(base, orgId, String(c.enrolmentCode)));
    }

    // Load: each device uploads batches in order until the server dies; acks are recorded.
    const acked = new Map<string, number>(); // hex record hash -> acknowledged log index
    const ackedSeq = new Map<string, number>(); // device -> highest acknowledged sequence number
    const checkpoints = new Map<number, string>();
    let dead = false;
    const auditor = (async () => {
      while (!dead) {
        const r = await fetch(`${base}/v1/orgs/${orgId}/log/checkpoint`).catch(() => null);
        if (r?.status === 200) {
          const note = await r.text();
          checkpoints.set(Number(note.split('\n')[1]), note);
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const loads = devices.map(async (d) => {
      const sealer = await createSessionSealer(await BucketPublicKey.fromBytes(bucket.publicKey.toBytes()), {
        org: orgId as CoreOrgId,
        device: d.deviceId as CoreDeviceId,
        bucket: 'std-2026' as BucketId,
      });
      let seq = 0;
      let prev: RecordHash = genesisPrevHash();
      let first = true;
      while (!dead) {
        const records = Array.from({ length: 50 }, () => {
          const rec = sealRecordBytes(
            sealer,
            {
              org: orgId as CoreOrgId,
              device: d.deviceId as CoreDeviceId,
              bucket: 'std-2026' as BucketId,
              seq: seq++,
              prev,
              tokens: [],
              attachmentBytes: 0,
            },
            new Uint8Array(600),
          );
          prev = rec.hash;
          return rec;
        });
        const firstSeq = records[0]!.header.seq;
        const signature = signBatch(d.identity, {
          org: orgId as CoreOrgId,
          device: d.deviceId as CoreDeviceId,
          firstSeq,
          hashes: records.map((r) => r.hash),
        });
        const body = {
          records: records.map((r) => Buffer.from(r.bytes).toString('base64url')),
          signature: Buffer.from(signature).toString('base64url'),
          sessionKeys: first ? [Buffer.from(sealer.wrappedKey).toString('base64url')] : [],
        };
        const r = await http(base, 'POST', '/v1/archive/batches', body, d.headers).catch(() => null);
        if (r === null || r.status !== 200) return;
        first = false;
        const idx = (r.json() as { logIndexes: number[] }).logIndexes;
        records.forEach((rec, i) => acked.set(Buffer.from(rec.hash).toString('hex'), idx[i]!));
        ackedSeq.set(d.deviceId, records[records.length - 1]!.header.seq);
      }
    });
    while (acked.size < 2000 || checkpoints.size < 3) await new Promise((res) => setTimeout(res, 20));
    const killed = new Promise((res) => child!.once('exit', res));
    child.kill('SIGKILL');
    await killed;
    dead = true;
    await Promise.all([...loads, auditor]);
    const before = new Map(checkpoints);

    base = `http://127.0.0.1:${await freePort()}`;
    child = await startServerProcess(data, Number(new URL(base).port));
    // Every acknowledged record is stored under the index it was acknowledged with.
    for (const d of devices) {
      const h = (await http(base, 'GET', '/v1/archive/head', undefined, d.headers)).json() as {
        nextSeq: number;
      };
      expect(h.nextSeq).toBeGreaterThan(ackedSeq.get(d.deviceId) ?? -1);
    }
    // Wait until the restarted integrator covers everything acknowledged.
    const maxAcked = Math.max(...acked.values());
    let info: { origin: string; verifierKey: string; treeSize: number; checkpoint: string };
    for (;;) {
      info = (await http(base, 'GET', `/v1/orgs/${orgId}/log`)).json() as typeof info;
      if (info.treeSize > maxAcked) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const latest = openCheckpoint(info.checkpoint, [info.verifierKey], info.origin).checkpoint;
    const indexes = [...acked.values()];
    for (const index of indexes.filter((_, i) => i % 97 === 0)) {
      const p = await http(base, 'GET', `/v1/orgs/${orgId}/log/receipts/${index}`);
      expect(p.status).toBe(200);
    }
    // Indexes acknowledged before the crash are distinct (no index was handed out twice).
    expect(new Set(indexes).size).toBe(indexes.length);
    // Every checkpoint seen before the crash is consistent with the tree after it.
    const sizes = [...before.keys()].sort((a, b) => a - b);
    for (const size of sizes) {
      const cp = openCheckpoint(before.get(size)!, [info.verifierKey], info.origin).checkpoint;
      if (size === 0) continue;
      const proof = (
        await http(base, 'GET', `/v1/orgs/${orgId}/log/proof/consistency?from=${size}&to=${latest.treeSize}`)
      ).json() as { proof: string[] };
      verifyConsistency(
        size,
        latest.treeSize,
        proof.proof.map((h) => Buffer.from(h, 'base64url')),
        cp.rootHash,
        latest.rootHash,
      );
    }
    // And the stored history has no two inconsistent checkpoints.
    const history = (await http(base, 'GET', `/v1/orgs/${orgId}/log/checkpoints?limit=100`)).json() as {
      checkpoints: { treeSize: number; note: string }[];
    };
    for (let i = 1; i < history.checkpoints.length; i++) {
      const a = openCheckpoint(history.checkpoints[i - 1]!.note, [info.verifierKey], info.origin).checkpoint;
      const b = openCheckpoint(history.checkpoints[i]!.note, [info.verifierKey], info.origin).checkpoint;
      const proof = (
        await http(base, 'GET', `/v1/orgs/${orgId}/log/proof/consistency?from=${a.treeSize}&to=${b.treeSize}`)
      ).json() as { proof: string[] };
      verifyConsistency(
        a.treeSize,
        b.treeSize,
        proof.proof.map((h) => Buffer.from(h, 'base64url')),
        a.rootHash,
        b.rootHash,
      );
    }
    child.kill('SIGTERM');
  });
});
