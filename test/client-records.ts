/**
 * Reads archive records as the officer would: the records a client profile has captured and
 * not yet dropped (read beside the running client through its store, each session key
 * unwrapped with the bucket private key the test holds), and the entries of the org's log
 * through its public tile routes.
 */
import {
  decodeBody,
  decodeEntryBundle,
  decodeLogEntry,
  entryBundlePath,
  hashLeaf,
  openRecordBytes,
  openSessionKey,
  TILE_WIDTH,
  verifyReceipt,
  type LogEntry,
  type RecordBody,
} from '@custos/core';
import {
  ArchiveCapture,
  type ArchiveReceiptRow,
  type CustosClient,
  type DeviceProfile,
  type LocalStore,
} from '@custos/client';
import { decodeQueued } from '../packages/client/src/archive/capture.js';
import { readClientStore } from '../packages/client/src/custos-client.js';
import { decodePending, isPending } from '../packages/client/src/archive/pending-records.js';
import type { ServerProcess, TestOrg } from './client-support.js';

/**
 * Captures `count` sent messages (`text`, ids m0, m1, …) into `store`'s archive queue in one
 * transaction and seals them: the queue as a device leaves it before uploading. `clock`
 * picks the bucket (a test's device at the time its server's clock reads).
 */
export async function captureSealed(
  store: LocalStore,
  profile: DeviceProfile,
  count: number,
  text: string,
  clock: () => number = Date.now,
): Promise<void> {
  const capture = new ArchiveCapture(store, profile, clock);
  try {
    await capture.prepare();
    const body: RecordBody = {
      direction: 'sent',
      kind: 'message',
      messageId: 'm',
      conversationId: 'dm.test',
      participants: ['a', 'b'],
      sender: 'a',
      sentAt: Date.now(),
      text,
      attachments: [],
      archiveNotice: true,
      envelopeHashes: [new Uint8Array(32)],
    };
    store.transaction(() => {
      for (let i = 0; i < count; i++) capture.captureSync({ ...body, messageId: `m${i}` });
    });
    await capture.sealPending();
  } finally {
    capture.close();
  }
}

/**
 * Bodies of the records queued in `client`'s profile, in sequence order, read beside the
 * running client through its own store (a second store on the profile is PROFILE_IN_USE).
 */
export async function queuedRecords(client: CustosClient, org: TestOrg): Promise<RecordBody[]> {
  type Row = { pending: Uint8Array } | { queued: Uint8Array; wrapped: Uint8Array };
  const rows = await readClientStore(client, (store) =>
    store.list('archive-queue').map((row): Row => {
      // A record not sealed yet (the client seals in the background): its body as captured.
      if (isPending(row.value)) return { pending: row.value };
      const q = decodeQueued(row.value);
      const k = store.getJson<{ wrapped: Uint8Array }>('archive-state', `skey:${q.skey}`);
      if (k === undefined) throw new Error('queued record without its session key');
      return { queued: row.value, wrapped: k.wrapped };
    }),
  );
  const out: RecordBody[] = [];
  for (const r of rows) {
    if ('pending' in r) {
      out.push(decodeBody(decodePending(r.pending).body));
      continue;
    }
    const opener = await openSessionKey(org.bucket.privateKey, r.wrapped);
    out.push(decodeBody(openRecordBytes(opener, decodeQueued(r.queued).bytes).bodyBytes));
  }
  return out;
}

/** What reading the log needs: the server's URL and the organisation's id. */
type LogServer = Pick<ServerProcess, 'url'>;
type LogOrg = Pick<TestOrg, 'orgId'>;

/** Every log entry of the org, decoded, read through the public tile routes. */
export async function logEntries(server: LogServer, org: LogOrg): Promise<LogEntry[]> {
  const base = `${server.url}/v1/orgs/${org.orgId}/log`;
  const info = (await (await fetch(base)).json()) as { treeSize: number };
  const out: LogEntry[] = [];
  for (let i = 0; i * TILE_WIDTH < info.treeSize; i++) {
    const width = Math.min(TILE_WIDTH, info.treeSize - i * TILE_WIDTH);
    const r = await fetch(`${base}/${entryBundlePath({ index: i, width })}`);
    for (const e of decodeEntryBundle(new Uint8Array(await r.arrayBuffer()), width))
      out.push(decodeLogEntry(e));
  }
  return out;
}

/** Sequence numbers of `deviceId`'s archive-record entries in the org's log, sorted. */
export async function logSeqs(server: LogServer, org: LogOrg, deviceId: string): Promise<number[]> {
  return (await logEntries(server, org))
    .flatMap((e) => (e.type === 'archive-record' && e.device === deviceId ? [e.seq] : []))
    .sort((a, b) => a - b);
}

/**
 * Checks a device's stored receipt against the log independently of the client: the entry
 * at its index is this device's record `row.seq`, and the receipt proves that entry under
 * the log key the server publishes. Resolves to the proven index; throws otherwise.
 */
export async function verifyStoredReceipt(
  server: LogServer,
  org: LogOrg,
  deviceId: string,
  row: ArchiveReceiptRow,
): Promise<number> {
  if (row.receipt === undefined || row.treeSize === undefined)
    throw new Error(`record ${row.seq}: no receipt`);
  const base = `${server.url}/v1/orgs/${org.orgId}/log`;
  const log = (await (await fetch(base)).json()) as { origin: string; verifierKey: string };
  const bundle = Math.floor(row.logIndex / TILE_WIDTH);
  const width = Math.min(TILE_WIDTH, row.treeSize - bundle * TILE_WIDTH);
  const res = await fetch(`${base}/${entryBundlePath({ index: bundle, width })}`);
  const entry = decodeEntryBundle(new Uint8Array(await res.arrayBuffer()), width)[
    row.logIndex - bundle * TILE_WIDTH
  ];
  if (entry === undefined) throw new Error(`record ${row.seq}: no entry at log index ${row.logIndex}`);
  const e = decodeLogEntry(entry);
  if (e.type !== 'archive-record' || e.device !== deviceId || e.seq !== row.seq)
    throw new Error(`record ${row.seq}: the entry at log index ${row.logIndex} is another record`);
  return verifyReceipt(row.receipt, hashLeaf(entry), [log.verifierKey], log.origin).index;
}
