/**
 * Reads the archive records a client profile has captured and not yet dropped, as the
 * officer would: opens the profile's store read-only beside the running client, unwraps each
 * session key with the bucket private key the test holds, and decodes each record body.
 */
import { decodeBody, openRecordBytes, openSessionKey, type RecordBody } from '@custos/core';
import { LocalStore } from '@custos/client';
import { decodeQueued } from '../packages/client/src/archive/capture.js';
import type { TestOrg } from './client-support.js';

/** Bodies of the records queued in the profile at `dir`, in sequence order. */
export async function queuedRecords(dir: string, org: TestOrg): Promise<RecordBody[]> {
  const store = LocalStore.open(dir);
  try {
    const out: RecordBody[] = [];
    for (const row of store.list('archive-queue')) {
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
