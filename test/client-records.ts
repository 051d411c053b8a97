/**
 * Reads archive records as the officer would: the records a client profile has captured and
 * not yet dropped (the profile's store opened beside the running client, each session key
 * unwrapped with the bucket private key the test holds), and the entries of the org's log
 * through its public tile routes.
 */
import {
  decodeBody,
  decodeEntryBundle,
  decodeLogEntry,
  entryBundlePath,
  openRecordBytes,
  openSessionKey,
  TILE_WIDTH,
  type LogEntry,
  type RecordBody,
} from '@custos/core';
import { LocalStore } from '@custos/client';
import { decodeQueued } from '../packages/client/src/archive/capture.js';
import { decodePending, isPending } from '../packages/client/src/archive/pending-records.js';
import type { ServerProcess, TestOrg } from './client-support.js';

/** Bodies of the records queued in the profile at `dir`, in sequence order. */
export async function queuedRecords(dir: string, org: TestOrg): Promise<RecordBody[]> {
  const store = LocalStore.open(dir);
  try {
    const out: RecordBody[] = [];
    for (const row of store.list('archive-queue')) {
      // A record not sealed yet (the client seals in the background): its body as captured.
      if (isPending(row.value)) {
        out.push(decodeBody(decodePending(row.value).body));
        continue;
      }
      const q = decodeQueued(row.value);
      const k = store.getJson<{ wrapped: Uint8Array }>('archive-state', `skey:${q.skey}`);
      if (k === undefined) throw new Error('queued record without its session key');
      const opener = await openSessionKey(org.bucket.privateKey, k.wrapped);
      out.push(decodeBody(openRecordBytes(opener, q.bytes).bodyBytes));
    }
    return out;
  } finally {
    store.close();
  }
}

/** Every log entry of the org, decoded, read through the public tile routes. */
export async function logEntries(server: ServerProcess, org: TestOrg): Promise<LogEntry[]> {
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
export async function logSeqs(server: ServerProcess, org: TestOrg, deviceId: string): Promise<number[]> {
  return (await logEntries(server, org))
    .flatMap((e) => (e.type === 'archive-record' && e.device === deviceId ? [e.seq] : []))
    .sort((a, b) => a - b);
}
