/**
 * Client benchmarks (issue 4 targets).
 *
 * 1. Capture overhead on the send path. Case: one 1:1 message as the device sends it —
 *    content encoding, signalEncrypt (sessions in the encrypted SQLite store) and archive
 *    capture as a real send does it (prepare: current bucket and session key; record build,
 *    blind tokens with the bucket's index key, seal, chain, queue) in one durable store
 *    transaction, plus the batch signature the uploader makes later, amortised (one per
 *    sample of 200 records; real batches hold up to 1,000). Baseline, same run: the same
 *    without capture. Both store the sent message as a real send does (the message row and
 *    its order counter, like messaging/message-store putMessage). The network send is left
 *    out of both, which makes the ratio stricter than "encrypt + send" (target: at most 10%
 *    slower, ratio ≥ 0.909).
 * 2. Backlog upload: 100,000 records captured by a real enrolled device, uploaded to a
 *    real `custos server` process on loopback (signed batches of 1,000; durable commits).
 *    Target ≥ 10,000 records/s. Records are captured before the timer starts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArchiveCapture,
  CustosClient,
  encodeContent,
  generatePrekeys,
  LocalStore,
  loadProfile,
  newMessageId,
  saveLocalIdentity,
  signalStores,
  type DeviceProfile,
} from '@custos/client';
import {
  deviceId as toDeviceId,
  generateBucketKeyPair,
  generateIndexSecret,
  orgId as toOrgId,
  signBatch,
  type RecordBody,
  type RecordHash,
} from '@custos/core';
import { sealBucketKeyDocument, sealDelegation } from '@custos/server';
import {
  IdentityKeyPair,
  KEMPublicKey,
  PreKeyBundle,
  ProtocolAddress,
  PublicKey,
  processPreKeyBundle,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import type { BenchCase } from '../harness.js';

const MESSAGES_PER_SAMPLE = 200;
const BACKLOG = Number(process.env.CUSTOS_BENCH_BACKLOG ?? 100_000);
const DAY = 86_400_000;
const TEXT = 'Quarterly figures are attached; please review the revenue line before Thursday.';

type Buf = Uint8Array<ArrayBuffer>;
const dec = (s: string): Buf => new Uint8Array(Buffer.from(s, 'base64url'));

/** A device store with a session to a peer, and (optionally) archive capture. */
async function sender(dir: string) {
  const store = LocalStore.create(join(dir, `dev-${randomBytes(4).toString('hex')}`), { kind: 'file' });
  const id = IdentityKeyPair.generate();
  saveLocalIdentity(store, id, 42);
  const stores = signalStores(store);
  const peerStore = LocalStore.create(join(dir, `peer-${randomBytes(4).toString('hex')}`), { kind: 'file' });
  const peerId = IdentityKeyPair.generate();
  saveLocalIdentity(peerStore, peerId, 43);
  const up = generatePrekeys(peerStore, signalStores(peerStore), peerId, {
    oneTime: 1,
    kyber: 1,
    rotateSigned: true,
  });
  const spk = up.signedPreKey!;
  const k = up.kyberPreKeys[0]!;
  const otk = up.oneTimePreKeys[0]!;
  const self = ProtocolAddress.new('org.me', 1);
  const peer = ProtocolAddress.new('org.peer', 1);
  await processPreKeyBundle(
    PreKeyBundle.new(
      43,
      1,
      otk.keyId,
      PublicKey.deserialize(dec(otk.publicKey)),
      spk.keyId,
      PublicKey.deserialize(dec(spk.publicKey)),
      dec(spk.signature),
      peerId.publicKey,
      k.keyId,
      KEMPublicKey.deserialize(dec(k.publicKey)),
      dec(k.signature),
    ),
    peer,
    self,
    stores.sessions,
    stores.identity,
  );
  peerStore.close();
  // A profile and one verified bucket so capture can seal (the bench plays the org).
  const bucket = await generateBucketKeyPair();
  const profile: DeviceProfile = {
    serverUrl: 'http://127.0.0.1:1',
    orgId: 'o'.repeat(22),
    orgName: 'Bench',
    userId: 'u'.repeat(22),
    deviceId: 'd'.repeat(22),
    deviceNumber: 1,
    pinnedFingerprint: '',
    orgSigningKey: new Uint8Array(32),
    keyManager: { key: new Uint8Array(32), notBefore: 0, notAfter: Date.now() + DAY },
    retentionClass: 'standard',
    captureRequired: true,
    enrolledAt: Date.now(),
  };
  store.putJson('buckets', 'standard-bench', {
    bucketId: 'standard-bench',
    org: profile.orgId,
    retentionClass: 'standard',
    period: 'bench',
    notBefore: 0,
    notAfter: Date.now() + DAY,
    publicKey: bucket.publicKey.toBytes(),
    document: new Uint8Array(1),
  });
  // The bucket's index key, as an officer's console delivers it: records carry blind tokens.
  store.put('index-keys', 'standard-bench', generateIndexSecret());
  const capture = new ArchiveCapture(store, profile);
  let hashes: RecordHash[] = [];
  let firstSeq = 0;
  /** The uploader's batch signature over what this sample captured (its amortised share). */
  const signCaptured = (): void => {
    signBatch(id.privateKey, {
      org: toOrgId(profile.orgId),
      device: toDeviceId(profile.deviceId),
      firstSeq,
      hashes,
    });
    firstSeq += hashes.length;
    hashes = [];
  };
  const send = async (withCapture: boolean): Promise<void> => {
    const content = { id: newMessageId(), timestamp: Date.now(), kind: 'message' as const, text: TEXT };
    // A real send prepares capture (bucket, session key) before its transaction.
    if (withCapture) await capture.prepare();
    await store.atomically(async () => {
      const ct = await signalEncrypt(
        new Uint8Array(encodeContent(content)),
        peer,
        self,
        stores.sessions,
        stores.identity,
      );
      // The sent message, stored in the same transaction (both sides).
      const n = (store.getJson<number>('profile', 'bench-message-counter') ?? 0) + 1;
      store.putJson('profile', 'bench-message-counter', n);
      store.putJson(
        'messages',
        content.id,
        {
          id: content.id,
          conversation: 'dm.bench',
          peer: { orgId: 'org', userId: 'peer' },
          from: { orgId: 'org', userId: 'me' },
          direction: 'sent',
          sentAt: content.timestamp,
          receivedAt: content.timestamp,
          text: TEXT,
          reactions: [],
          notice: { org: profile.orgId, name: profile.orgName },
        },
        n,
      );
      if (!withCapture) return;
      const body: RecordBody = {
        direction: 'sent',
        kind: 'message',
        messageId: content.id,
        conversationId: 'dm.bench',
        participants: ['org.me', 'org.peer'],
        sender: 'org.me',
        sentAt: content.timestamp,
        text: TEXT,
        attachments: [],
        archiveNotice: true,
        envelopeHashes: [new Uint8Array(32).fill(ct.type())],
      };
      hashes.push(capture.captureSync(body).hash);
    });
  };
  return { send, signCaptured, close: () => (capture.close(), store.close()) };
}

let sendEnv: Awaited<ReturnType<typeof sender>> | undefined;
let sendDir = '';

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
    kind: 'rate',
    name: 'send path: encrypt + capture, one durable transaction',
    unit: 'messages/s',
    setup: async () => {
      sendDir = mkdtempSync(join(tmpdir(), 'custos-bench-send-'));
      sendEnv = await sender(sendDir);
    },
    teardown: () => {
      sendEnv?.close();
      rmSync(sendDir, { recursive: true, force: true });
    },
    run: async () => {
      for (let i = 0; i < MESSAGES_PER_SAMPLE; i++) await sendEnv!.send(true);
      sendEnv!.signCaptured();
      return MESSAGES_PER_SAMPLE;
    },
    baseline: {
      name: 'encrypt only, one durable transaction',
      run: async () => {
        for (let i = 0; i < MESSAGES_PER_SAMPLE; i++) await sendEnv!.send(false);
        return MESSAGES_PER_SAMPLE;
      },
    },
    target: { minRatio: 0.909 },
  },
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
