/**
 * Client benchmark (issue 4 target): backlog upload. 100,000 records captured by a real
 * enrolled device, uploaded to a real `custos server` process on loopback (signed batches
 * of 1,000; durable commits). Target ≥ 10,000 records/s. Records are captured before the
 * timer starts. The send-path overhead is in client-send.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiveCapture, CustosClient, LocalStore, loadProfile } from '@custos/client';
import { generateBucketKeyPair, type RecordBody } from '@custos/core';
import { sealBucketKeyDocument, sealDelegation } from '@custos/server';
import type { BenchCase } from '../harness.js';

const BACKLOG = Number(process.env.CUSTOS_BENCH_BACKLOG ?? 100_000);
const DAY = 86_400_000;
const TEXT = 'Quarterly figures are attached; please review the revenue line before Thursday.';

function startServer(
  dir: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; token: string }> {
  const main = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));
  const bootstrap = join(dir, 'bootstrap.txt');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_')));
  const child = spawn(
    process.execPath,
    [
      main,
      'server',
      '--data',
      join(dir, 'data'),
      '--listen',
      '127.0.0.1:0',
      '--bootstrap-out',
      bootstrap,
      '--log-level',
      'error',
    ],
    { env },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Listening on (http:\/\/\S+)/.exec(out);
      if (m !== null && /The token works once/.test(out))
        resolve({ child, url: m[1]!, token: readFileSync(bootstrap, 'utf8').trim() });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err.slice(-2000)}`)));
  });
}

const raw = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));

/** Enrols a device against a fresh server, captures BACKLOG records, then times their upload. */
async function backlogUploadRate(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-client-'));
  const server = await startServer(dir);
  try {
    const now = Date.now();
    const signing = generateKeyPairSync('ed25519');
    const km = generateKeyPairSync('ed25519');
    const window = { notBefore: now - DAY, notAfter: now + 365 * DAY };
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    const res = await fetch(`${server.url}/v1/orgs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        bootstrapToken: server.token,
        name: 'Bench Agency',
        signingPublicKey: b64(raw(signing.publicKey)),
        rootArchivePublicKey: b64(randomBytes(32)),
        keyManager: {
          delegation: b64(sealDelegation({ key: raw(km.publicKey), ...window }, signing.privateKey)),
          ...window,
        },
        officers: [{ publicKey: b64(randomBytes(32)) }],
        officerQuorum: 1,
      }),
    });
    const org = (await res.json()) as { orgId: string; enrolmentCode: string };
    const profileDir = join(dir, 'device');
    const c = await CustosClient.enrol(profileDir, {
      serverUrl: server.url,
      code: org.enrolmentCode,
      protection: { kind: 'file' },
    });
    const bucket = await generateBucketKeyPair();
    const doc = sealBucketKeyDocument(
      {
        org: org.orgId,
        bucket: 'standard-bench',
        retentionClass: 'standard',
        period: 'bench',
        notBefore: now - DAY,
        notAfter: now + 30 * DAY,
        publicKey: bucket.publicKey.toBytes(),
      },
      km.privateKey,
    );
    await c.api.request('POST', `/v1/orgs/${org.orgId}/buckets`, { body: { document: b64(doc) } });
    await c.refreshKeys();
    await c.close();
    // Capture the backlog directly into the device's queue (untimed).
    const store = LocalStore.open(profileDir);
    const capture = new ArchiveCapture(store, loadProfile(store));
    await capture.prepare();
    const body: RecordBody = {
      direction: 'sent',
      kind: 'message',
      messageId: 'm',
      conversationId: 'dm.bench',
      participants: ['a', 'b'],
      sender: 'a',
      sentAt: now,
      text: TEXT,
      attachments: [],
      archiveNotice: true,
      envelopeHashes: [new Uint8Array(32)],
    };
    const CHUNK = 10_000;
    for (let i = 0; i < BACKLOG; i += CHUNK)
      store.transaction(() => {
        for (let j = i; j < i + CHUNK; j++) capture.captureSync({ ...body, messageId: `m${j}` });
      });
    // A device seals captured records in the background after each send: the backlog is sealed.
    await capture.sealPending();
    capture.close();
    store.close();
    let fetchMs = 0;
    const timed: typeof fetch = async (input, init) => {
      const t0 = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        fetchMs += performance.now() - t0;
      }
    };
    const device = CustosClient.open(profileDir, { api: { fetch: timed } });
    const start = performance.now();
    const n = await device.uploadArchive();
    const seconds = (performance.now() - start) / 1000;
    if (process.env.CUSTOS_BENCH_VERBOSE !== undefined)
      process.stderr.write(
        `backlog: ${seconds.toFixed(2)} s total, ${(fetchMs / 1000).toFixed(2)} s in HTTP\n`,
      );
    await device.close();
    if (n !== BACKLOG) throw new Error(`uploaded ${n} of ${BACKLOG}`);
    return n / seconds;
  } finally {
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The client suite. */
export const cases: BenchCase[] = [
  {
    kind: 'value',
    name: `backlog upload of ${BACKLOG.toLocaleString('en')} records to a local server`,
    unit: 'records/s',
    measure: backlogUploadRate,
    lowerIsBetter: false,
    target: { min: 10_000 },
    samples: 1,
  },
];
