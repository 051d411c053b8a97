/**
 * A device uploading to a server played by a fetch (`chainServer`), for the archive unit
 * tests of what a device does with a server's answers and log: disposed runs and gap
 * declarations (disposed-run.test.ts), and batches acknowledged but never logged
 * (unlogged-batch.test.ts). Tests only; nothing in the SDK imports it.
 */
import { createHash } from 'node:crypto';
import {
  appendEntries,
  consistencyProof,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  formatReceipt,
  generateSignerKey,
  inclusionProof,
  parseRecord,
  parseSignerKey,
  recordHashOf,
  signCheckpoint,
  tilesToWrite,
  verifyGapDeclaration,
  type LogEntry,
  type TileId,
} from '@custos/core';
import { PrivateKey } from '@signalapp/libsignal-client';
import { archiveStatus } from '../client/archive-view.js';
import { savePinnedLog } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { ApiClient } from '../transport/api-client.js';
import {
  TEST_NOW as NOW,
  putTestBucket as putBucket,
  testProfile as profile,
  type TempStores,
} from './archive-test-support.js';
import { ArchiveCapture, decodeQueued } from './capture.js';
import { isPending } from './pending-records.js';
import { verifyArchiveProofs } from './proofs.js';
import { ArchiveUploader } from './uploader.js';

const ORIGIN = 'custos.test/chain-server';

/** The records of a binary batch body (batch-body.ts). */
function batchRecords(b: Uint8Array): Uint8Array[] {
  const buf = Buffer.from(b);
  let at = 1 + 64;
  const keys = buf[at++]!;
  for (let i = 0; i < keys; i++) at += 4 + buf.readUInt32BE(at);
  const n = buf.readUInt16BE(at);
  at += 2;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = buf.readUInt32BE(at);
    out.push(Uint8Array.from(buf.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

/** An archive-gap entry as the log shows an accepted declaration (the server chooses `time`). */
export type GapEntry = Extract<LogEntry, { type: 'archive-gap' }>;

/**
 * A server holding this device's chain: it takes batches that continue it and gap
 * declarations that start right after it and link to it (verified with the device key; a
 * repeat of an accepted one is answered with its first index, as a real server does), and
 * serves its log (receipts under a checkpoint signed with `logKey`, entry bundles,
 * consistency proofs). `failGaps` makes it answer the next declarations with that status
 * and code instead; `loseAnswer` accepts the next one but loses the answer (a crash);
 * `gapEntry` says what its log shows for an accepted declaration: the entry (`logged`),
 * nothing at the answered index (`unlogged`), or another entry; `batchEntries`, what it
 * shows for the records of an acknowledged batch.
 *
 * What a real server refuses of the chain (a record or declaration out of sequence or not
 * linking to the last one, a repeat covering another run) it refuses too, with the real
 * code, storing nothing — and notes it in `violations`, which a test asserts empty once done
 * (`expect(state.violations).toEqual([])`). The fake cannot assert itself: it runs inside
 * `fetch`, where ApiClient takes a throw for a NETWORK failure, which the uploader retries
 * and a caller may swallow.
 */
export function chainServer(identity: PrivateKey) {
  const logKey = generateSignerKey(ORIGIN);
  const state = {
    head: { seq: -1, hash: new Uint8Array(32) as Uint8Array },
    stored: [] as number[],
    declared: [] as { firstSeq: number; lastSeq: number; reason: string }[],
    /** Every declaration document posted, hex. */
    posted: [] as string[],
    failGaps: undefined as { status: number; code: string } | undefined,
    loseAnswer: false,
    gapEntry: 'logged' as 'logged' | 'unlogged' | ((e: GapEntry) => LogEntry),
    /** What its log shows for the records of a batch it acknowledges: their entries, or nothing (`unlogged`). */
    batchEntries: 'logged' as 'logged' | 'unlogged',
    /** Log indexes answered for batches and never filled (`batchEntries: 'unlogged'`). */
    unloggedIndexes: 0,
    accepted: new Map<number, { lastSeq: number; logIndex: number }>(),
    log: [] as Uint8Array[],
    /** The log index of every receipt asked for, in order. */
    receiptsAsked: [] as number[],
    /** Answers every receipt request RATE_LIMITED (the log's read routes throttled). */
    receiptsThrottled: false,
    /** What the device posted that breaks its chain, refused as a real server refuses it. */
    violations: [] as string[],
  };
  const json = (status: number, v: unknown) =>
    Promise.resolve(
      new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } }),
    );
  /** Notes a chain violation and refuses it with `code` (409), storing nothing. */
  const violation = (code: string, message: string) => {
    state.violations.push(message);
    return json(409, { error: { code, message } });
  };
  const links = (prev: Uint8Array, head: Uint8Array) => Buffer.from(prev).equals(Buffer.from(head));
  const tree = (size: number) => {
    const append = appendEntries(EMPTY_TREE_STATE, state.log.slice(0, size));
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesToWrite(append, [])) tiles.set(`${t.id.level}/${t.id.index}`, t.bytes);
    const reader = {
      readTiles: async (ids: readonly TileId[]) => ids.map((id) => tiles.get(`${id.level}/${id.index}`)!),
    };
    const checkpoint = signCheckpoint(
      { origin: ORIGIN, treeSize: size, rootHash: append.root, extensions: [] },
      parseSignerKey(logKey.signerKey),
    );
    return { reader, checkpoint };
  };
  const logPath = `/v1/orgs/${profile.orgId}/log`;
  const f = async (url: string, init?: { method?: string; body?: string | Uint8Array }) => {
    const u = new URL(url);
    const path = u.pathname;
    if (path === '/v1/archive/batches') {
      const records = batchRecords(init!.body as Uint8Array);
      // The whole batch continues the chain, or none of it is stored.
      let head = state.head;
      for (const r of records) {
        const h = parseRecord(r).header;
        if (h.seq !== head.seq + 1)
          return violation('ARCHIVE_SEQUENCE_GAP', `record ${h.seq} posted, expected ${head.seq + 1}`);
        if (!links(h.prev, head.hash))
          return violation('ARCHIVE_FORK', `record ${h.seq} does not link to record ${head.seq}`);
        head = { seq: h.seq, hash: recordHashOf(r) };
      }
      const logIndexes: number[] = [];
      for (const r of records) {
        const h = parseRecord(r).header;
        state.head = { seq: h.seq, hash: recordHashOf(r) };
        state.stored.push(h.seq);
        if (state.batchEntries === 'unlogged') {
          // A lying server answers indexes its log never fills.
          logIndexes.push(2_000_000 + state.unloggedIndexes++);
          continue;
        }
        logIndexes.push(state.log.length);
        state.log.push(
          encodeLogEntry({
            type: 'archive-record',
            hash: recordHashOf(r),
            size: r.length,
            actor: h.device,
            time: NOW,
            org: h.org,
            device: h.device,
            seq: h.seq,
            bucket: h.bucket,
          }),
        );
      }
      return json(200, { logIndexes });
    }
    if (path === '/v1/archive/gaps') {
      if (state.failGaps !== undefined)
        return json(state.failGaps.status, { error: { code: state.failGaps.code, message: 'no' } });
      const posted = JSON.parse(init!.body as string) as { declaration: string };
      const doc = Buffer.from(posted.declaration, 'base64url');
      state.posted.push(doc.toString('hex'));
      const d = verifyGapDeclaration(identity.getPublicKey().serialize(), doc);
      const head = { seq: d.lastSeq, hash: Buffer.from(d.resume).toString('base64url') };
      const repeat = state.accepted.get(d.firstSeq);
      if (repeat !== undefined) {
        if (repeat.lastSeq !== d.lastSeq)
          return violation(
            'ARCHIVE_GAP_MISMATCH',
            `declaration of ${d.firstSeq}–${d.lastSeq} repeats one of ${d.firstSeq}–${repeat.lastSeq}`,
          );
        return json(200, { logIndex: repeat.logIndex, stored: false, head });
      }
      if (d.firstSeq !== state.head.seq + 1)
        return violation(
          'ARCHIVE_GAP_MISMATCH',
          `declaration from ${d.firstSeq} posted, expected ${state.head.seq + 1}`,
        );
      if (!links(d.prev, state.head.hash))
        return violation(
          'ARCHIVE_GAP_MISMATCH',
          `declaration from ${d.firstSeq} does not link to record ${state.head.seq}`,
        );
      state.head = { seq: d.lastSeq, hash: d.resume };
      state.declared.push({ firstSeq: d.firstSeq, lastSeq: d.lastSeq, reason: d.reason });
      const entry: GapEntry = {
        type: 'archive-gap',
        hash: createHash('sha256').update(doc).digest(),
        size: doc.length,
        actor: d.device,
        time: NOW + 1,
        org: d.org,
        device: d.device,
        seq: d.firstSeq,
        end: d.lastSeq,
        reason: d.reason,
      };
      // A lying server answers an index its log never fills.
      const logIndex = state.gapEntry === 'unlogged' ? 1_000_000 : state.log.length;
      if (state.gapEntry === 'logged') state.log.push(encodeLogEntry(entry));
      else if (state.gapEntry !== 'unlogged') state.log.push(encodeLogEntry(state.gapEntry(entry)));
      state.accepted.set(d.firstSeq, { lastSeq: d.lastSeq, logIndex });
      if (state.loseAnswer) {
        state.loseAnswer = false;
        throw new TypeError('fetch failed: the connection dropped before the answer');
      }
      return json(200, { logIndex, stored: true, head });
    }
    const size = state.log.length;
    const receipt = new RegExp(`^${logPath}/receipts/(\\d+)$`).exec(path);
    if (receipt !== null) {
      const index = Number(receipt[1]);
      state.receiptsAsked.push(index);
      if (state.receiptsThrottled)
        return json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } });
      if (index >= size) return json(404, { error: { code: 'LOG_NOT_FOUND', message: 'not yet' } });
      const { reader, checkpoint } = tree(size);
      const text = formatReceipt({ index, proof: await inclusionProof(index, size, reader), checkpoint });
      return new Response(text, { status: 200, headers: { 'content-type': 'text/plain' } });
    }
    const bundle = new RegExp(`^${logPath}/tile/entries/(\\d+)(?:\\.p/(\\d+))?$`).exec(path);
    if (bundle !== null) {
      const n = Number(bundle[1]);
      const w = bundle[2] === undefined ? 256 : Number(bundle[2]);
      const body = Buffer.from(encodeEntryBundle(state.log.slice(n * 256, n * 256 + w)));
      return new Response(body, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
    }
    if (path === `${logPath}/proof/consistency`) {
      const from = Number(u.searchParams.get('from'));
      const to = Number(u.searchParams.get('to'));
      const proof = await consistencyProof(from, to, tree(to).reader);
      return json(200, { from, to, proof: proof.map((h) => Buffer.from(h).toString('base64url')) });
    }
    state.violations.push(`unexpected request ${path}`);
    throw new Error(`unexpected request ${path}`);
  };
  return {
    state,
    api: new ApiClient('http://127.0.0.1:1', { fetch: f }),
    /** Pins this server's log on the device (as enrolment does). */
    pin: (store: LocalStore) => savePinnedLog(store, { origin: ORIGIN, verifierKey: logKey.verifierKey }),
  };
}

/** The queue's sealed rows as (seq, bucket). */
export const queued = (store: LocalStore) =>
  store
    .listAfter('archive-queue', -1, 1000)
    .filter((r) => !isPending(r.value))
    .map((r) => {
      const q = decodeQueued(r.value);
      return [q.seq, q.bucket];
    });

/**
 * A store with bucket b1 and a device uploading to `chainServer`, whose log it has pinned;
 * `clock.now` is the device's clock (uploads, proof passes, status), NOW until a test moves it.
 */
export async function chainDevice(stores: TempStores, batchRecords?: number) {
  const store = stores.open('custos-chain-device-');
  await putBucket(store, 'b1');
  const capture = new ArchiveCapture(store, profile, () => NOW);
  const identity = PrivateKey.generate();
  const server = chainServer(identity);
  server.pin(store);
  const clock = { now: NOW };
  const uploader = new ArchiveUploader(store, server.api, profile, identity, {
    clock: () => clock.now,
    ...(batchRecords === undefined ? {} : { batchRecords }),
  });
  const prove = () => verifyArchiveProofs(server.api, store, profile, clock.now);
  const status = () => archiveStatus(store, profile);
  const close = () => {
    capture.close();
    store.close();
  };
  return { store, capture, uploader, prove, status, clock, close, ...server };
}
