/**
 * Client benchmark (issue 4 target): backlog upload. 100,000 records captured by a real
 * enrolled device, uploaded to a real `custos server` process on loopback (signed batches
 * of 1,000; durable commits). Target ≥ 10,000 records/s. Records are captured before the
 * timer starts. Baseline, same run (a fresh server and device of its own): the same batches
 * signed and encoded beforehand, only their POSTs timed — the server's share, so the ratio is
 * the device's own cost under the machine's load at the time. CUSTOS_BENCH_BACKLOG=N runs a
 * smaller backlog (quick checks); the default is the 100,000. The send-path overhead
 * is in client-send.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiClient,
  ArchiveCapture,
  ArchiveUploader,
  CustosClient,
  isServerRefusal,
  LocalStore,
  loadLocalIdentity,
  loadProfile,
  UPLOAD_PIPELINE_DEPTH,
} from '@custos/client';
import {
  generateBucketKeyPair,
  sealBucketKeyDocument,
  sealKeyManagerDelegation as sealDelegation,
  type RecordBody,
} from '@custos/core';
import type { BenchCase } from '../harness.js';

/** Records in the backlog: the 100,000 unless CUSTOS_BENCH_BACKLOG says otherwise (quick runs). */
const BACKLOG = Number(process.env.CUSTOS_BENCH_BACKLOG ?? 100_000);
/** Media type of the binary batch upload (client archive/batch-body.ts). */
const BATCH_MEDIA_TYPE = 'application/vnd.custos.archive-batch';
const DAY = 86_400_000;
const TEXT = 'Quarterly figures are attached; please review the revenue line before Thursday.';

function startServer(
  dir: string,
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; token: string }> {
  // The unbundled entry (tsc's output), so `tsc -b` alone keeps it current; start-up cost, where the
  // bundle differs (scripts/bundle-cli.mjs), is outside every measured window.
  const main = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
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

/** A fresh server with one enrolled device whose queue holds BACKLOG sealed records (untimed). */
async function deviceWithBacklog(): Promise<{
  dir: string;
  profileDir: string;
  server: Awaited<ReturnType<typeof startServer>>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-client-'));
  const server = await startServer(dir);
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
      for (let j = i; j < Math.min(BACKLOG, i + CHUNK); j++)
        capture.captureSync({ ...body, messageId: `m${j}` });
    });
  // A device seals captured records in the background after each send: the backlog is sealed.
  await capture.sealPending();
  capture.close();
  store.close();
  return { dir, profileDir, server };
}

function stop(b: { dir: string; server: Awaited<ReturnType<typeof startServer>> }): void {
  b.server.child.removeAllListeners('exit');
  b.server.child.kill('SIGTERM');
  rmSync(b.dir, { recursive: true, force: true });
}

/** The device uploads its backlog: records per second. */
async function backlogUploadRate(): Promise<number> {
  const b = await deviceWithBacklog();
  try {
    let fetchMs = 0;
    const timed: typeof fetch = async (input, init) => {
      const t0 = performance.now();
      try {
        return await fetch(input, init);
      } finally {
        fetchMs += performance.now() - t0;
      }
    };
    const device = CustosClient.open(b.profileDir, { api: { fetch: timed } });
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
    stop(b);
  }
}

/** Records in a binary batch body (archive/batch-body.ts: version, signature, keys, then the count). */
function recordCount(body: Uint8Array): number {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let at = 1 + 64;
  const keys = b[at++]!;
  for (let i = 0; i < keys; i++) at += 4 + b.readUInt32BE(at);
  return b.readUInt16BE(at);
}

/**
 * Baseline, same run: what the server alone takes. The device's batches are read, signed
 * and encoded beforehand by its own uploader (untimed, answered locally); then only their
 * POSTs are timed, in order, UPLOAD_PIPELINE_DEPTH in flight, through the same
 * authenticated transport (an overtaking batch is sent again, as the device does).
 */
async function serverBoundRate(): Promise<number> {
  const b = await deviceWithBacklog();
  const store = LocalStore.open(b.profileDir);
  try {
    const profile = loadProfile(store);
    const identity = loadLocalIdentity(store).privateKey;
    const credentials = { orgId: profile.orgId, deviceId: profile.deviceId, identityKey: identity };
    const bodies: Uint8Array[] = [];
    const collect: typeof fetch = async (input, init) => {
      const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
      if (init?.method !== 'POST' || path !== '/v1/archive/batches') return fetch(input, init);
      const body = init.body as Uint8Array;
      bodies.push(body);
      const logIndexes = Array.from({ length: recordCount(body) }, (_, i) => i);
      return Response.json({ logIndexes });
    };
    const local = new ApiClient(profile.serverUrl, { fetch: collect });
    local.setCredentials(credentials);
    await new ArchiveUploader(store, local, profile, identity).uploadAll();
    const api = new ApiClient(profile.serverUrl);
    api.setCredentials(credentials);
    await api.request('GET', '/v1/archive/head'); // authenticated before the clock starts
    const post = (body: Uint8Array): Promise<unknown> =>
      api.request('POST', '/v1/archive/batches', { bytes: body, contentType: BATCH_MEDIA_TYPE }).then(
        () => null,
        (e: unknown) => e,
      );
    const start = performance.now();
    const inflight: { body: Uint8Array; answer: Promise<unknown> }[] = [];
    let next = 0;
    let records = 0;
    while (next < bodies.length || inflight.length > 0) {
      while (inflight.length < UPLOAD_PIPELINE_DEPTH && next < bodies.length) {
        const body = bodies[next++]!;
        inflight.push({ body, answer: post(body) });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const head = inflight.shift()!;
      let e = await head.answer;
      // Overtook its predecessor (separate connections): the predecessor is stored now.
      if (e !== null && isServerRefusal(e, 'ARCHIVE_SEQUENCE_GAP')) e = await post(head.body);
      if (e !== null) throw e instanceof Error ? e : new Error('a batch upload failed');
      records += recordCount(head.body);
    }
    const seconds = (performance.now() - start) / 1000;
    if (records !== BACKLOG) throw new Error(`posted ${records} of ${BACKLOG}`);
    return records / seconds;
  } finally {
    store.close();
    stop(b);
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
    baseline: { name: 'server alone: pre-signed batches posted, same pipeline', measure: serverBoundRate },
    target: { min: 10_000 },
    samples: 1,
  },
];
