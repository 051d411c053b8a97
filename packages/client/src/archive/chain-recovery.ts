/**
 * Getting a device's archive chain going again when the server is behind what it
 * acknowledged (restored from an older backup; docs/archive-format.md §6.1, client.md §6).
 * Records the device still queues are sent again (the uploader rewinds); records that
 * already left the queue (their receipts verified) can never be sent again, so the device
 * declares them missing in a signed gap declaration, which the server logs, and the chain
 * goes on from there. Before, every later batch was refused as a gap, for good, and the
 * device's archive silently stopped growing. The same declaration, with reason
 * `bucket-disposed`, gets the chain past records sealed to a bucket whose keys a disposition
 * destroyed before they were archived (disposed-buckets.ts): no server takes them, ever.
 * Those records are the only copy, so they leave the queue only once the declaration's
 * archive-gap entry is proven in the org's log, not on the server's answer (gap-proofs.ts).
 */
import {
  deviceId as toDeviceId,
  genesisPrevHash,
  orgId as toOrgId,
  parseRecord,
  signGapDeclaration,
  type GapDeclaration,
  type GapReason,
  type RecordHash,
} from '@custos/core';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { ApiClient } from '../transport/api-client.js';
import { int, obj } from '../transport/response-checks.js';
import { decodeQueued, loadChain, type QueuedRecord, type StoredSessionKey } from './capture.js';
import { disposedBucketIds } from './disposed-buckets.js';
import { isPending } from './pending-records.js';
import type { ArchiveReceiptRow } from './uploader.js';

/**
 * A run of this device's records it declared lost, as the server accepted it (for
 * `bucket-disposed`, noted only once the declaration's log entry is proven: gap-proofs.ts).
 */
export interface DeclaredGap {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly reason: string;
  /** Index of the declaration's archive-gap entry in the org's log. */
  readonly logIndex: number;
}

const DECLARED_GAPS = 'declared-gaps';

/** The runs this device declared lost, oldest first (shown by `custos archive status`). */
export function declaredGaps(store: LocalStore): DeclaredGap[] {
  return store.getJson<DeclaredGap[]>('archive-state', DECLARED_GAPS) ?? [];
}

/** Queue rows read per store query while following the queue (session keys, disposed runs). */
const KEY_SCAN_PAGE = 2000;

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** The hash of record `seq` as this device last knew it (its kept receipt or its saved chain head). */
function knownHash(store: LocalStore, seq: number): Uint8Array | undefined {
  const receipt = store.getJson<ArchiveReceiptRow>('archive-receipts', String(seq));
  if (receipt !== undefined) return receipt.hash;
  const chain = loadChain(store);
  return chain.nextSeq === seq + 1 && chain.prev.length === 32 ? chain.prev : undefined;
}

/**
 * The run of records after the server's head that this device acknowledged but no longer
 * holds: from `serverLast + 1` to just before its first still-queued record (or to
 * `local`, its last acknowledged record, when none is queued), with the hash the record
 * after the run links to. Undefined when record `serverLast + 1` is still queued (then it
 * is simply sent again).
 */
export function lostRun(
  store: LocalStore,
  serverLast: number,
  local: number,
): { firstSeq: number; lastSeq: number; resume: Uint8Array } | undefined {
  const firstSeq = serverLast + 1;
  const [row] = store.listAfter('archive-queue', serverLast, 1);
  const held = row === undefined || isPending(row.value) ? undefined : decodeQueued(row.value);
  if (held?.seq === firstSeq) return undefined;
  if (held !== undefined && held.seq <= local + 1) {
    // The first record still held links to the last one lost: exactly what the server checks.
    return { firstSeq, lastSeq: held.seq - 1, resume: parseRecord(held.bytes).header.prev };
  }
  const resume = knownHash(store, local);
  if (held !== undefined || resume === undefined) {
    throw new ClientError(
      'STORE_CORRUPT',
      `the archive chain after record ${serverLast} cannot be followed on this device (no record or hash of ${local})`,
    );
  }
  return { firstSeq, lastSeq: local, resume };
}

/**
 * Marks the session keys of the queued records `from`…`to` as not uploaded, so the next
 * upload carries them: the server lost them with its restore, and refuses a record whose
 * key it holds from neither the batch nor earlier. A key it still holds is sent again
 * harmlessly (the server keeps the first copy). Run inside a transaction.
 */
export function markKeysNotUploaded(store: LocalStore, from: number, to: number): void {
  const keys = new Set<string>();
  for (let after = from - 1; after < to;) {
    const rows = store.listAfter('archive-queue', after, KEY_SCAN_PAGE);
    let last = after;
    for (const row of rows) {
      if (isPending(row.value)) break; // pending records are the queue's tail
      const r = decodeQueued(row.value);
      if (r.seq > to) break;
      keys.add(r.skey);
      last = r.seq;
    }
    if (last === after || rows.length < KEY_SCAN_PAGE) break;
    after = last;
  }
  for (const id of keys) markKeyNotUploaded(store, id);
}

/** Marks one session key (hex id) as not uploaded, if this device holds it. */
export function markKeyNotUploaded(store: LocalStore, id: string): boolean {
  const k = store.getJson<StoredSessionKey>('archive-state', `skey:${id}`);
  if (k?.uploaded !== true) return false;
  store.putJson('archive-state', `skey:${id}`, { ...k, uploaded: false });
  return true;
}

/** A run of this device's chain to declare: where it breaks and where it goes on. */
export interface GapRun {
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The hash record firstSeq links to (the server's head). */
  readonly prev: Uint8Array;
  /** The hash of record lastSeq, which record lastSeq + 1 links to. */
  readonly resume: Uint8Array;
}

/** Signs this device's declaration that `run` is lost for `reason` (a signature is randomised: sign once, keep it). */
export function signGapRun(
  profile: DeviceProfile,
  identityKey: PrivateKey,
  run: GapRun,
  reason: GapReason,
): Uint8Array {
  const declaration: GapDeclaration = {
    org: toOrgId(profile.orgId),
    device: toDeviceId(profile.deviceId),
    firstSeq: run.firstSeq,
    lastSeq: run.lastSeq,
    prev: Uint8Array.from(run.prev) as RecordHash,
    resume: Uint8Array.from(run.resume) as RecordHash,
    reason,
  };
  return signGapDeclaration(identityKey, declaration);
}

/**
 * Posts the signed declaration `document` of records `run.firstSeq`…`run.lastSeq`; resolves
 * to the log index the server answered for its archive-gap entry (a repeat of an accepted
 * declaration is answered with the first one's). That answer is only the server's word: it
 * proves nothing is logged (gap-proofs.ts proves it). A refusal or a failed post rejects.
 */
export async function postGapDocument(
  api: ApiClient,
  document: Uint8Array,
  run: { readonly firstSeq: number; readonly lastSeq: number },
): Promise<number> {
  const res = obj(
    await api.request('POST', '/v1/archive/gaps', {
      body: { declaration: Buffer.from(document).toString('base64url') },
    }),
    'gap declaration',
  );
  if (int(obj(res.head, 'gap declaration head'), 'seq') !== run.lastSeq)
    throw new ClientError('SERVER_RESPONSE_INVALID', 'the server answered another head for the declared gap');
  return int(res, 'logIndex');
}

/**
 * Signs a declaration of `run` (reason `reason`) and posts it; resolves to the run as the
 * server accepted it (a repeat of an accepted declaration is answered the same). Stores
 * nothing. For `server-restored` only, whose records already left the queue with verified
 * receipts: records the device still holds are declared through gap-proofs.ts, which keeps
 * them until the declaration's log entry is proven.
 */
export async function postGapDeclaration(
  api: ApiClient,
  profile: DeviceProfile,
  identityKey: PrivateKey,
  run: GapRun,
  reason: GapReason,
): Promise<DeclaredGap> {
  const logIndex = await postGapDocument(api, signGapRun(profile, identityKey, run, reason), run);
  return { firstSeq: run.firstSeq, lastSeq: run.lastSeq, reason, logIndex };
}

/** Keeps an accepted declaration for `custos archive status` (replacing one at the same start). */
export function noteDeclaredGap(store: LocalStore, gap: DeclaredGap): void {
  const others = declaredGaps(store).filter((g) => g.firstSeq !== gap.firstSeq);
  store.putJson('archive-state', DECLARED_GAPS, [...others, gap]);
}

/**
 * Declares the records `run` lost (reason `server-restored`: the server acknowledged them,
 * then lost them), chaining from `serverHead`, the hash of the server's last record of this
 * device (null before its first). Refuses (ARCHIVE_UPLOAD_FAILED) to declare when the
 * server's head is not the record this device knows at that place: that server holds
 * another chain, and this device will not sign away records on its word.
 */
export async function declareLostRun(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
  identityKey: PrivateKey,
  run: { firstSeq: number; lastSeq: number; resume: Uint8Array },
  serverHead: Uint8Array | null,
): Promise<void> {
  const prev = serverHead ?? genesisPrevHash();
  const known = run.firstSeq === 0 ? genesisPrevHash() : knownHash(store, run.firstSeq - 1);
  if (known !== undefined && !same(known, prev)) {
    throw new ClientError(
      'ARCHIVE_UPLOAD_FAILED',
      `the server's archive head (record ${run.firstSeq - 1}) is not the record this device sent there: not declaring records ${run.firstSeq}–${run.lastSeq} missing`,
    );
  }
  const gap = await postGapDeclaration(api, profile, identityKey, { ...run, prev }, 'server-restored');
  noteDeclaredGap(store, gap);
}

/**
 * The longest run of consecutive queued records sealed to buckets the server reported
 * disposed of, starting at `firstSeq` (the chain's next sequence number on the server): the
 * link its first record carries and the hash of its last. Undefined when record `firstSeq`
 * is not queued, is pending, or is sealed to a bucket not disposed of.
 */
export function disposedRun(store: LocalStore, firstSeq: number): GapRun | undefined {
  const disposed = disposedBucketIds(store);
  let first: QueuedRecord | undefined;
  let last: QueuedRecord | undefined;
  for (let after = firstSeq - 1; ;) {
    const rows = store.listAfter('archive-queue', after, KEY_SCAN_PAGE);
    for (const row of rows) {
      if (isPending(row.value)) return runOf(first, last); // pending records are the queue's tail
      const r = decodeQueued(row.value);
      if (r.seq !== (last?.seq ?? firstSeq - 1) + 1 || !disposed.has(r.bucket)) return runOf(first, last);
      first ??= r;
      last = r;
    }
    if (rows.length < KEY_SCAN_PAGE || last === undefined) return runOf(first, last);
    after = last.seq;
  }
}

function runOf(first: QueuedRecord | undefined, last: QueuedRecord | undefined): GapRun | undefined {
  if (first === undefined || last === undefined) return undefined;
  // The first record links to the server's head: exactly the `prev` the server checks.
  return {
    firstSeq: first.seq,
    lastSeq: last.seq,
    prev: parseRecord(first.bytes).header.prev,
    resume: last.hash,
  };
}
