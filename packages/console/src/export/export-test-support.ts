/**
 * Test and bench archives (exported from the package as `exportTesting`) built with real
 * core crypto, no mocks: records sealed to a bucket key
 * (HPKE-wrapped session keys, AES-256-GCM), signed in batches with libsignal identity
 * keys, appended as archive-record entries to a core Merkle tree with tiles, proven with
 * core's tile proofs, and covered by a checkpoint signed with a note signer.
 */
import { PrivateKey } from '@signalapp/libsignal-client';
import {
  appendEntries,
  bucketId,
  createSessionSealer,
  deviceId,
  EMPTY_TREE_STATE,
  encodeLogEntry,
  generateBucketKeyPair,
  generateSignerKey,
  genesisPrevHash,
  inclusionProof,
  openSessionKey,
  orgId,
  parseSignerKey,
  recordKeyOf,
  sealRecord,
  signBatch,
  signGapDeclaration,
  signCheckpoint,
  tilesToWrite,
  type BucketPrivateKey,
  type GapReason,
  type RecordBody,
  type RecordHash,
  type SealedRecord,
  type SessionOpener,
  type TileId,
} from '@custos/core';
import { createHash } from 'node:crypto';
import { ExportError } from './export-error.js';
import type { ExportBatch, ExportGapDeclaration, ExportInput, ExportRecord } from './export-types.js';
import { enrolmentProofsFor } from './enrolment-evidence-test-support.js';

/** The test organisation. */
export const ORG = 'acme';
/** Its log origin. */
export const ORIGIN = 'custos.example/acme';
/** User addresses. */
export const ALICE = 'acme.alice';
export const BOB = 'acme.bob';
export const CAROL = 'acme.carol';

/** A base time: 2026-01-05T09:00:00Z. */
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/** A body with defaults filled in. */
export function body(p: Partial<RecordBody> & Pick<RecordBody, 'messageId'>): RecordBody {
  return {
    direction: 'sent',
    kind: 'message',
    conversationId: 'dm.alice-bob',
    participants: [ALICE, BOB],
    sender: ALICE,
    sentAt: T0,
    attachments: [],
    archiveNotice: true,
    envelopeHashes: [new Uint8Array(32).fill(7)],
    ...p,
  };
}

/**
 * One event to archive, on `device`. The log enrols each device for the user its name starts
 * with (`alice-phone` → user `alice`, address `acme.alice`), so exports know whose devices
 * archived what.
 */
export interface TestEvent {
  readonly device: string;
  readonly body: RecordBody;
  readonly attachments?: ReadonlyMap<string, Uint8Array>;
  /** Blob ids the record's header lists ("att"); none by default. */
  readonly blobIds?: readonly string[];
}

/**
 * A run of a device's chain it declares lost (docs/archive-format.md §6.1): the device signs
 * the declaration, the log gets its `archive-gap` entry (after every record's), and the
 * run's records leave the export — unless `keep` (a test of a declaration that covers
 * exported records).
 */
export interface TestGap {
  readonly device: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly reason?: GapReason;
  readonly keep?: boolean;
  /** Signs a declaration whose `prev` or `resume` is another record's hash (links nowhere in the chain). */
  readonly misLinked?: 'prev' | 'resume';
}

/** A built test archive. */
export interface TestArchive {
  readonly input: ExportInput;
  readonly verifierKey: string;
  /** A different key with the same name (origin): signs checkpoints the export must refuse. */
  readonly otherSignerKey: string;
  readonly otherVerifierKey: string;
  readonly signerKey: string;
  /** The log's encoded entries, in order (its checkpoint covers them all). */
  readonly entries: readonly Uint8Array[];
  /** The bucket's private key, and each device's wrapped session key: what opens the records. */
  readonly bucketKey: BucketPrivateKey;
  readonly sessionKeys: ReadonlyMap<string, Uint8Array>;
}

/**
 * Builds records for `events` (in order, per device chains), batches of `batchSize`, one
 * checkpoint; with `gaps`, the devices' signed gap declarations proven in the same log.
 */
export async function buildTestArchive(
  events: readonly TestEvent[],
  batchSize = 100,
  gaps: readonly TestGap[] = [],
): Promise<TestArchive> {
  const bucket = await generateBucketKeyPair();
  const org = orgId(ORG);
  const bkt = bucketId('standard-2026-01');
  const devices = new Map<
    string,
    {
      sealer: Awaited<ReturnType<typeof createSessionSealer>>;
      identity: PrivateKey;
      seq: number;
      prev: RecordHash;
      records: number[];
    }
  >();
  const sealed: SealedRecord[] = [];
  for (const [i, e] of events.entries()) {
    let d = devices.get(e.device);
    if (d === undefined) {
      d = {
        sealer: await createSessionSealer(bucket.publicKey, { org, device: deviceId(e.device), bucket: bkt }),
        identity: PrivateKey.generate(),
        seq: 0,
        prev: genesisPrevHash(),
        records: [],
      };
      devices.set(e.device, d);
    }
    const s = sealRecord(
      d.sealer,
      {
        org,
        device: deviceId(e.device),
        bucket: bkt,
        seq: d.seq,
        prev: d.prev,
        tokens: [],
        attachmentBytes: 0,
        ...(e.blobIds === undefined ? {} : { blobIds: e.blobIds }),
      },
      e.body,
    );
    sealed.push(s);
    d.records.push(i);
    d.seq++;
    d.prev = s.hash;
  }
  // Batch signatures per device.
  const batchOf: ExportBatch[] = new Array<ExportBatch>(events.length);
  for (const [dev, d] of devices) {
    for (let at = 0; at < d.records.length; at += batchSize) {
      const idx = d.records.slice(at, at + batchSize);
      const hashes = idx.map((i) => sealed[i]!.hash);
      const signature = signBatch(d.identity, { org, device: deviceId(dev), firstSeq: at, hashes });
      const batch: ExportBatch = {
        firstSeq: at,
        hashes,
        signature,
        identityKey: d.identity.getPublicKey().serialize(),
      };
      for (const i of idx) batchOf[i] = batch;
    }
  }
  // The log: one archive-record entry per record, in event order.
  const loggedAt = (i: number): number => events[i]!.body.sentAt + 250;
  const entries = sealed.map((s, i) =>
    encodeLogEntry({
      type: 'archive-record',
      hash: s.hash,
      size: s.bytes.length,
      actor: s.header.device,
      time: loggedAt(i),
      org,
      device: s.header.device,
      seq: s.header.seq,
      bucket: bkt,
    }),
  );
  // Gap declarations, signed by their devices, logged after the records.
  const gapLoggedAt = T0 + 86_400_000 * 2;
  const gapDocs = gaps.map((g) => {
    const d = devices.get(g.device)!;
    const hashAt = (seq: number): RecordHash => sealed[d.records[seq]!]!.hash;
    const document = signGapDeclaration(d.identity, {
      org,
      device: deviceId(g.device),
      firstSeq: g.firstSeq,
      lastSeq: g.lastSeq,
      prev:
        g.misLinked === 'prev'
          ? hashAt(g.lastSeq)
          : g.firstSeq === 0
            ? genesisPrevHash()
            : hashAt(g.firstSeq - 1),
      resume: g.misLinked === 'resume' ? hashAt(g.firstSeq) : hashAt(g.lastSeq),
      reason: g.reason ?? 'server-restored',
    });
    entries.push(
      encodeLogEntry({
        type: 'archive-gap',
        hash: new Uint8Array(createHash('sha256').update(document).digest()),
        size: document.length,
        actor: deviceId(g.device),
        time: gapLoggedAt,
        org,
        device: deviceId(g.device),
        seq: g.firstSeq,
        end: g.lastSeq,
        reason: g.reason ?? 'server-restored',
      }),
    );
    return document;
  });
  const append = appendEntries(EMPTY_TREE_STATE, entries);
  const tiles = new Map<string, Uint8Array>();
  for (const t of tilesToWrite(append, [])) tiles.set(`${t.id.level}/${t.id.index}`, t.bytes);
  const reader = {
    readTiles: async (ids: readonly TileId[]): Promise<Uint8Array[]> =>
      ids.map((id) => {
        const b = tiles.get(`${id.level}/${id.index}`);
        if (b === undefined) throw new Error(`tile ${id.level}/${id.index} missing`);
        return b;
      }),
  };
  const key = generateSignerKey(ORIGIN);
  const other = generateSignerKey(ORIGIN);
  const treeSize = append.state.size;
  const checkpoint = signCheckpoint(
    { origin: ORIGIN, treeSize, rootHash: append.root, extensions: [] },
    parseSignerKey(key.signerKey),
  );
  // Each record's own key, as the console derives it when it opens the record for export.
  const openers = new Map<string, SessionOpener>();
  for (const [dev, d] of devices)
    openers.set(dev, await openSessionKey(bucket.privateKey, d.sealer.wrappedKey));
  const records: ExportRecord[] = [];
  const declaredLost = (device: string, seq: number): boolean =>
    gaps.some((g) => g.device === device && g.keep !== true && seq >= g.firstSeq && seq <= g.lastSeq);
  for (const [i, s] of sealed.entries()) {
    const e = events[i]!;
    if (declaredLost(e.device, s.header.seq)) continue;
    records.push({
      recordKey: recordKeyOf(openers.get(e.device)!, s.bytes),
      sealed: s.bytes,
      hash: s.hash,
      header: s.header,
      body: e.body,
      batch: batchOf[i]!,
      log: { index: i, loggedAt: loggedAt(i), proof: await inclusionProof(i, treeSize, reader), checkpoint },
      ...(e.attachments === undefined ? {} : { attachments: e.attachments }),
    });
  }
  const gapDeclarations: ExportGapDeclaration[] = [];
  for (const [j, document] of gapDocs.entries()) {
    const index = sealed.length + j;
    gapDeclarations.push({
      document,
      log: { index, loggedAt: gapLoggedAt, proof: await inclusionProof(index, treeSize, reader), checkpoint },
    });
  }
  return {
    input: {
      records,
      ...(gaps.length === 0 ? {} : { gapDeclarations }),
      custodian: ALICE,
      displayNames: new Map([
        [ALICE, 'Alice Adams'],
        [BOB, 'Bob Brown'],
        [CAROL, 'Carol Çelik'],
      ]),
      log: { origin: ORIGIN, verifierKey: key.verifierKey },
      exportedAt: Date.UTC(2026, 1, 1),
      exportId: 'test-export',
      enrolments: enrolmentProofsFor(
        ORG,
        { origin: ORIGIN, signerKey: key.signerKey },
        new Map([...devices].map(([dev, d]) => [dev, d.identity.getPublicKey().serialize()])),
        new Map([...devices.keys()].map((dev) => [dev, dev.split('-')[0]!])),
      ),
    },
    verifierKey: key.verifierKey,
    signerKey: key.signerKey,
    entries,
    otherSignerKey: other.signerKey,
    otherVerifierKey: other.verifierKey,
    bucketKey: bucket.privateKey,
    sessionKeys: new Map([...devices].map(([dev, d]) => [dev, d.sealer.wrappedKey])),
  };
}

/** A realistic mixed conversation set: direct chat with edit, delete, reaction, reply, receipt, attachment; a group with joins, leave and rename; a second day. */
export function mixedEvents(): TestEvent[] {
  const pdf = new Uint8Array(Buffer.from('%PDF-1.4 test attachment'));
  const att = {
    blobId: 'blob-1',
    key: new Uint8Array(32).fill(1),
    digest: new Uint8Array(32).fill(2),
    size: pdf.length,
    contentType: 'application/pdf',
    fileName: 'report.pdf',
  };
  const g = 'g.team';
  const members = [ALICE, BOB, CAROL];
  const m = (t: number): number => T0 + t * 60_000;
  return [
    {
      device: 'alice-phone',
      body: body({
        messageId: 'm1',
        text: 'Hello Bob, the Q1 numbers are attached.',
        attachments: [att],
        sentAt: m(0),
      }),
      attachments: new Map([['blob-1', pdf]]),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'm2',
        direction: 'received',
        sender: BOB,
        text: 'Thanks — looks good 👍',
        replyTo: 'm1',
        sentAt: m(1),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'm3',
        kind: 'edit',
        edits: 'm1',
        text: 'Hello Bob, the Q1 numbers (revised) are attached.',
        sentAt: m(2),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'm4',
        kind: 'reaction',
        direction: 'received',
        sender: BOB,
        reactsTo: 'm1',
        reaction: '👍',
        sentAt: m(3),
      }),
    },
    {
      device: 'alice-phone',
      body: body({ messageId: 'm5', text: 'Ignore the previous figure.', sentAt: m(4) }),
    },
    { device: 'alice-phone', body: body({ messageId: 'm6', kind: 'delete', deletes: 'm5', sentAt: m(5) }) },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'm7',
        kind: 'receipt',
        direction: 'received',
        sender: BOB,
        text: 'read\nm1\nm5',
        sentAt: m(6),
      }),
    },
    {
      device: 'bob-laptop',
      body: body({
        messageId: 'm2',
        sender: BOB,
        text: 'Thanks — looks good 👍',
        replyTo: 'm1',
        sentAt: m(1),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'g1',
        kind: 'group-change',
        conversationId: g,
        participants: members,
        text: 'Deal team',
        added: members,
        removed: [],
        sentAt: m(10),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'g2',
        conversationId: g,
        participants: members,
        text: 'Welcome all',
        sentAt: m(11),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'g3',
        kind: 'group-change',
        direction: 'received',
        sender: CAROL,
        conversationId: g,
        participants: members,
        text: 'Deal team',
        added: [],
        removed: [CAROL],
        sentAt: m(12),
      }),
    },
    {
      device: 'alice-phone',
      body: body({
        messageId: 'g4',
        kind: 'group-change',
        conversationId: g,
        participants: [ALICE, BOB],
        text: 'Deal team (closed)',
        added: [],
        removed: [],
        sentAt: m(13),
      }),
    },
    {
      device: 'alice-phone',
      body: body({ messageId: 'd2', text: 'Next day: 日本語 text and Ünïcödé.', sentAt: T0 + 86_400_000 }),
    },
  ];
}
export { editRsmf, relistExport } from './export-tamper-support.js';

/** The ExportError `check` throws (a verification or a build); any other outcome fails the test. */
export function exportFailure(check: () => unknown): ExportError {
  try {
    check();
  } catch (e) {
    if (e instanceof ExportError) return e;
    throw e;
  }
  throw new Error('expected the check to fail with an ExportError');
}
