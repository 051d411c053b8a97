/**
 * What `custos console export` exports (docs/exports.md §9): the sealed records that match
 * the officer's criteria, fetched page by page until done — by blind search when the
 * criteria name words, participants or a conversation (console search), or a custodian
 * device's records in sequence order (`GET …/archive/records`) when they name devices —
 * each opened and verified exactly as search hits are (verify-hit.ts: hash, header,
 * decryption, batch signature, inclusion in a checkpoint signed by the pinned log key),
 * filtered exactly on the plaintext, with the attachments' blobs downloaded and decrypted
 * under the key the record carries. Nothing is written here; the caller builds the export.
 */
import { unlistedBlobIds, type AttachmentRef, type BucketPrivateKey, type Checkpoint } from '@custos/core';
import { recordsAnswerLimit } from '@custos/client/answer-limits';
import { openBucketKey } from '../bucket-inventory.js';
import { ConsoleError, isConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import {
  exactMatch,
  MAX_CONSOLE_SEARCH_PAGE,
  officerSearch,
  pageOf,
  type OfficerSearchQuery,
  type SearchReuse,
} from '../search/officer-search.js';
import { pinnedLogOf } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { enrolmentKeyChecker } from '../search/enrolment-keys.js';
import { verifyHit, type VerifiedHit } from '../search/verify-hit.js';
import type { DeviceEnrolmentProof } from './device-enrolments.js';
import { fetchEnrolmentEvidence } from './enrolment-evidence.js';
import { ExportError } from './export-error.js';
import type { ExportGapDeclaration, ExportRecord } from './export-types.js';
import { fetchGapEvidence } from './gap-evidence.js';

/** Records per page of `GET …/archive/records` (the server's maximum). */
const DEVICE_RECORDS_PAGE = 500;
/** Pages read before giving up on a server that never says "done" (10 M records at most). */
const MAX_PAGES = 20_000;
/** A blob id: lowercase hex SHA-256 of the encrypted blob (docs/client.md §5). */
const BLOB_ID = /^[0-9a-f]{64}$/;

/** What to export: search criteria, or custodian devices (then every criterion filters their records). */
export interface ExportQuery extends OfficerSearchQuery {
  /** Custodian devices whose records to read in sequence order; the search is not used. */
  readonly devices?: readonly string[];
}

/** Counts so far, for a progress display. */
export interface FetchCounts {
  /** Records the server returned (before the exact filter). */
  readonly fetched: number;
  /** Records opened, verified and kept. */
  readonly opened: number;
  /** Attachments downloaded and decrypted. */
  readonly attachments: number;
}

/** Decrypts a downloaded attachment blob with the record's pointer; throws when digest, length or tag are wrong. */
export type OpenAttachment = (blob: Uint8Array, ref: AttachmentRef) => Uint8Array;

/** Options of {@link fetchExportRecords}. */
export interface FetchExportOptions {
  /** How attachment blobs are opened (the client's `decryptAttachment`); without it none are fetched. */
  readonly openAttachment?: OpenAttachment;
  readonly onProgress?: (counts: FetchCounts) => void;
  /** The private key of a bucket (default: the officer's own wrap of it, opened); tests inject one. */
  readonly bucketKey?: (bucketId: string) => Promise<BucketPrivateKey>;
}

/** The verified records of an export, and what was left out. */
export interface FetchedExport {
  readonly records: readonly ExportRecord[];
  readonly log: { readonly origin: string; readonly verifierKey: string };
  /** Records the server returned that the exact filter removed. */
  readonly filteredOut: number;
  /** Attachments referenced by exported records. */
  readonly attachmentsReferenced: number;
  /** Blob ids the server no longer holds (their events say the attachment is not exported). */
  readonly attachmentsMissing: readonly string[];
  /**
   * Records whose body names attachment blobs their header does not list ("att",
   * docs/archive-format.md §2), with those ids: the server keeps a blob for the records that
   * list it, so these are kept only under its older-client rule (docs/operations.md).
   */
  readonly attachmentsNotListed: readonly { readonly record: string; readonly blobIds: readonly string[] }[];
  /** The exported devices' enrolment acts with proofs: the export carries them (device-enrolments.ts). */
  readonly enrolments: readonly DeviceEnrolmentProof[];
  /**
   * The exported devices' signed gap declarations in (or touching) their exported sequence
   * numbers, with proofs: the export carries them (custody-gaps.ts, gap-evidence.ts).
   */
  readonly gapDeclarations: readonly ExportGapDeclaration[];
}

/** Fetches, opens and verifies every record the query selects, with attachment bytes. */
export async function fetchExportRecords(
  session: OfficerSession,
  query: ExportQuery,
  options: FetchExportOptions = {},
): Promise<FetchedExport> {
  for (const p of query.participants ?? []) {
    if (!p.startsWith(`${session.orgId}.`)) {
      throw new ConsoleError(
        'INVALID_OPTIONS',
        `--participant ${p} is not a user of this profile's organisation (${session.orgId}): an officer exports only their own organisation's records`,
      );
    }
  }
  const counts = { fetched: 0, opened: 0, attachments: 0 };
  const report = (): void => options.onProgress?.({ ...counts });
  const got =
    query.devices !== undefined && query.devices.length > 0
      ? await byDevices(session, query, query.devices, counts, report, options.bucketKey)
      : await bySearch(session, query, counts, report);
  // One record per hash (the same record reached twice adds nothing).
  const seen = new Set<string>();
  const hits = got.hits.filter((h) => {
    const k = Buffer.from(h.hash).toString('hex');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  for (const h of hits) {
    if (h.signature !== 'verified') {
      throw new ExportError(
        'RECORD_NOT_SIGNED',
        `record ${h.header.device}#${h.header.seq} (log index ${h.log.index}): the server holds no device batch signature for it, and an export must prove every record's signature; nothing was written`,
        { record: Buffer.from(h.hash).toString('hex') },
      );
    }
  }
  const { records, referenced, missing } = await withAttachments(session, hits, options, counts, report);
  const enrolments =
    hits.length === 0
      ? []
      : await fetchEnrolmentEvidence(session, got.log, new Set(hits.map((h) => h.header.device as string)));
  const gapDeclarations = await fetchGapEvidence(session, records);
  return {
    enrolments,
    gapDeclarations,
    records,
    log: got.log,
    filteredOut: got.filteredOut,
    attachmentsReferenced: referenced,
    attachmentsMissing: missing,
    attachmentsNotListed: notListed(hits),
  };
}

/** The records whose body names blob ids their header does not list (see FetchedExport). */
function notListed(hits: readonly VerifiedHit[]): { record: string; blobIds: string[] }[] {
  return hits.flatMap((h) => {
    const blobIds = unlistedBlobIds(
      h.header,
      h.body.attachments.map((a) => a.blobId),
    );
    return blobIds.length === 0 ? [] : [{ record: `${h.header.device}#${h.header.seq}`, blobIds }];
  });
}

interface Gathered {
  readonly hits: VerifiedHit[];
  readonly log: { origin: string; verifierKey: string };
  readonly filteredOut: number;
}

/** Every page of the officer search, largest pages; a bucket the officer cannot open stops the export. */
async function bySearch(
  session: OfficerSession,
  query: OfficerSearchQuery,
  counts: { fetched: number; opened: number },
  report: () => void,
): Promise<Gathered> {
  const hits: VerifiedHit[] = [];
  let filteredOut = 0;
  let cursor: string | undefined;
  // The log pin, buckets and opened bucket keys are fetched once, not per page.
  const reuse: SearchReuse = { keys: new Map() };
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await officerSearch(session, query, {
      limit: MAX_CONSOLE_SEARCH_PAGE,
      reuse,
      ...(cursor === undefined ? {} : { cursor }),
    });
    if (r.bucketsWithoutWrap.length > 0) {
      throw new ExportError(
        'EXPORT_INVALID_INPUT',
        `you hold no wrap of bucket(s) ${r.bucketsWithoutWrap.join(', ')}: the export would be incomplete. Narrow --from/--to, or have an officer who holds them export`,
      );
    }
    hits.push(...r.hits);
    filteredOut += r.filteredOut;
    counts.fetched += r.hits.length + r.filteredOut;
    counts.opened += r.hits.length;
    report();
    if (r.next === null) return { hits, log: r.log, filteredOut };
    cursor = r.next;
  }
  throw new ConsoleError('SERVER_REFUSED', `the search did not end after ${MAX_PAGES} pages`);
}

/** Every record of each device, in sequence order, verified and filtered by the query. */
async function byDevices(
  session: OfficerSession,
  query: OfficerSearchQuery,
  devices: readonly string[],
  counts: { fetched: number; opened: number },
  report: () => void,
  bucketKey: (bucketId: string) => Promise<BucketPrivateKey> = async (b) =>
    (await openBucketKey(session, b)).privateKey,
): Promise<Gathered> {
  const log = await pinnedLogOf(session);
  // Keys only: an export does not carry the handed-in mark yet (docs/search.md §5).
  const enrolment = enrolmentKeyChecker(session, log);
  const keys = new Map<string, BucketPrivateKey>();
  const checkpoints = new Map<string, Checkpoint>();
  const hits: VerifiedHit[] = [];
  let filteredOut = 0;
  for (const device of devices) {
    let fromSeq = 0;
    let page = 0;
    for (; page < MAX_PAGES; page++) {
      const q = `device=${encodeURIComponent(device)}&fromSeq=${fromSeq}&limit=${DEVICE_RECORDS_PAGE}`;
      const r = pageOf(
        await session.call('GET', `/v1/orgs/${session.orgId}/archive/records?${q}`, undefined, {
          maxAnswerBytes: recordsAnswerLimit(DEVICE_RECORDS_PAGE),
        }),
      );
      let cp = checkpoints.get(r.note);
      if (cp === undefined && r.records.length > 0) {
        cp = (await trustCheckpoint(session, log, r.note, 'the checkpoint of a records answer')).checkpoint;
        checkpoints.set(r.note, cp);
      }
      for (const h of r.records) {
        if (h.deviceId !== device) {
          throw new ConsoleError(
            'SERVER_REFUSED',
            `asked for device ${device}, the server answered another's record`,
          );
        }
        let key = keys.get(h.bucketId);
        if (key === undefined) {
          key = await bucketKey(h.bucketId).catch((e: unknown) => {
            throw isConsoleError(e, 'PROFILE_INVALID')
              ? new ExportError(
                  'EXPORT_INVALID_INPUT',
                  `${e.message}: the export would be incomplete. Have an officer who holds it export`,
                )
              : e;
          });
          keys.set(h.bucketId, key);
        }
        const v = await verifyHit(h, session.orgId, key, { opened: cp!, note: r.note }, enrolment);
        counts.fetched++;
        if (exactMatch(v, query)) {
          hits.push(v);
          counts.opened++;
        } else filteredOut++;
      }
      report();
      if (r.next === null) break;
      const next = Number(r.next);
      const last = r.records[r.records.length - 1];
      // Records past the latest checkpoint are not provable yet: the server stops before them.
      if (last === undefined && next === fromSeq) break;
      if (!Number.isSafeInteger(next) || next <= (last === undefined ? fromSeq : last.seq)) {
        throw new ConsoleError('SERVER_REFUSED', 'the records route answered a cursor that does not advance');
      }
      fromSeq = next;
    }
    if (page === MAX_PAGES)
      throw new ConsoleError('SERVER_REFUSED', `device ${device}: the records did not end`);
  }
  return { hits, log, filteredOut };
}

/** Downloads and opens each attachment once; a blob the server no longer holds is left out and named. */
async function withAttachments(
  session: OfficerSession,
  hits: readonly VerifiedHit[],
  options: FetchExportOptions,
  counts: { attachments: number },
  report: () => void,
): Promise<{ records: ExportRecord[]; referenced: number; missing: string[] }> {
  const open = options.openAttachment;
  const bytesOf = new Map<string, Uint8Array | null>();
  const missing: string[] = [];
  let referenced = 0;
  const records: ExportRecord[] = [];
  for (const h of hits) {
    const refs = h.body.attachments;
    if (refs.length === 0 || open === undefined) {
      referenced += refs.length;
      records.push(h);
      continue;
    }
    const map = new Map<string, Uint8Array>();
    for (const ref of refs) {
      referenced++;
      let bytes = bytesOf.get(ref.blobId);
      if (bytes === undefined) {
        bytes = await fetchAttachment(session, h, ref, open);
        bytesOf.set(ref.blobId, bytes);
        if (bytes === null) missing.push(ref.blobId);
        else counts.attachments++;
        report();
      }
      if (bytes !== null) map.set(ref.blobId, bytes);
    }
    records.push(map.size === 0 ? h : { ...h, attachments: map });
  }
  return { records, referenced, missing };
}

/** One attachment's plaintext; null when the server does not hold the blob (disposed or never uploaded). */
async function fetchAttachment(
  session: OfficerSession,
  h: VerifiedHit,
  ref: AttachmentRef,
  open: OpenAttachment,
): Promise<Uint8Array | null> {
  const where = `record ${h.header.device}#${h.header.seq}`;
  if (!BLOB_ID.test(ref.blobId)) {
    throw new ExportError('EXPORT_INVALID_INPUT', `${where} names a malformed attachment blob id`);
  }
  let blob: Uint8Array;
  try {
    blob = await session.download(`/v1/blobs/${ref.blobId}`);
  } catch (e) {
    if (isConsoleError(e) && e.serverCode === 'BLOB_NOT_FOUND') return null;
    throw e;
  }
  try {
    return open(blob, ref);
  } catch (e) {
    // The record (signed, proven) names the blob by its digest: other bytes mean the server is lying.
    throw new ExportError(
      'EXPORT_INVALID_INPUT',
      `${where}: the server's blob ${ref.blobId} does not match the attachment's digest or key; nothing was written`,
      { record: Buffer.from(h.hash).toString('hex') },
      e,
    );
  }
}
