/**
 * Accepting a device's signed gap declaration (docs/archive-format.md §6.1): the one way a
 * chain continues past records that nobody holds any more — acknowledged by a server that
 * was then restored from an older backup, after the device had let them go. Without it the
 * server refused every later batch of the device for good and its archive silently stopped
 * growing. The declaration is accepted only for exactly the run the server is missing
 * (from the device's next sequence number, linking to its stored head), is logged as an
 * `archive-gap` entry, and moves the device's head to the declared point. Everything is
 * checked before anything is written; a refusal writes nothing.
 *
 * The same rules hold for a device whose queued records were sealed to a bucket whose keys a
 * disposition destroyed before they were archived (reason `bucket-disposed`; ingest refuses
 * them with BUCKET_DISPOSED). The server cannot check that claim: it never saw those records,
 * so it cannot know which bucket they were sealed to. It only checks that the org has
 * disposed of at least one bucket (one read of disposed_buckets' key) — a cheap sanity
 * check that refuses the reason where it cannot be true; the declaration stays the device's
 * signed word, logged for officers and auditors like every other.
 */
import {
  CustosError,
  decodeGapDeclaration,
  encodeLogEntry,
  isCustosError,
  verifyGapDeclaration,
  type DeviceId as CoreDeviceId,
  type GapDeclaration,
  type OrgId as CoreOrgId,
} from '@custos/core';
import { createHash } from 'node:crypto';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { ArchiveGapRow } from '../store/archive-stores.js';
import type { Stores } from '../store/stores.js';
import { hex, sameBytes } from './group-reads.js';

/** What the device learns about its accepted declaration. */
export interface GapReceipt {
  /** Log index of the declaration's archive-gap entry (the first one's, for a repeat). */
  readonly logIndex: number;
  /** False when the same declaration was already accepted (nothing was written). */
  readonly stored: boolean;
  /** The device's chain head after the declaration: the next record is seq + 1, linking to hash. */
  readonly headSeq: number;
  readonly headHash: Buffer;
}

const invalid = (message: string, cause?: unknown): ServerError =>
  new ServerError('ARCHIVE_GAP_INVALID', message, cause === undefined ? undefined : { cause });

/**
 * Parses `document` and checks that it is the caller's own, signed with its identity key.
 * Throws ARCHIVE_GAP_INVALID naming what is wrong.
 */
export function verifyGapDocument(
  orgId: OrgId,
  deviceId: DeviceId,
  identityKey: Uint8Array,
  document: Uint8Array,
): GapDeclaration {
  let d: GapDeclaration;
  try {
    d = decodeGapDeclaration(document).declaration;
  } catch (e) {
    throw invalid(`declaration: ${e instanceof CustosError ? e.message : 'cannot be parsed'}`, e);
  }
  if ((d.org as string) !== orgId) throw invalid('declaration names another organisation than the caller');
  if ((d.device as string) !== deviceId) throw invalid('declaration names another device than the caller');
  try {
    verifyGapDeclaration(identityKey, document);
  } catch (e) {
    if (!isCustosError(e)) throw e;
    throw invalid("the declaration's signature does not verify with this device's identity key", e);
  }
  return d;
}

const sameDeclaration = (g: ArchiveGapRow, d: GapDeclaration): boolean =>
  g.lastSeq === d.lastSeq &&
  g.reason === d.reason &&
  sameBytes(g.prevHash, d.prev) &&
  sameBytes(g.resumeHash, d.resume);

/**
 * Checks the verified declaration `d` (document `document`) against the device's stored
 * chain and, when it covers exactly what the server is missing, stores it and its log
 * entry in one transaction. A declaration already accepted is answered again without
 * writing. Throws ARCHIVE_GAP_MISMATCH (stating the expected sequence number, or that a
 * `bucket-disposed` declaration comes from an org that never disposed of a bucket) or
 * LOG_PUSHBACK.
 */
export async function acceptGap(
  stores: Stores,
  d: GapDeclaration,
  document: Uint8Array,
  now: number,
): Promise<GapReceipt> {
  const orgId = d.org as string as OrgId;
  const deviceId = d.device as string as DeviceId;
  return stores.withTransaction(async (tx) => {
    // The committer takes the same lock, so no batch of the device moves its head meanwhile.
    await tx.archive.lockDevices(orgId, [deviceId]);
    const accepted = await tx.archive.gapAt(orgId, deviceId, d.firstSeq);
    if (accepted !== undefined) {
      if (!sameDeclaration(accepted, d)) {
        throw new ServerError(
          'ARCHIVE_GAP_MISMATCH',
          `sequence numbers ${accepted.firstSeq}–${accepted.lastSeq} are already declared missing by another declaration`,
        );
      }
      return {
        logIndex: accepted.logIndex,
        stored: false,
        headSeq: accepted.lastSeq,
        headHash: accepted.resumeHash,
      };
    }
    const head = await tx.archive.head(orgId, deviceId);
    const nextSeq = head === undefined ? 0 : head.seq + 1;
    if (d.firstSeq < nextSeq) {
      throw new ServerError(
        'ARCHIVE_GAP_MISMATCH',
        `expected sequence number ${nextSeq}, the declaration starts at ${d.firstSeq}: the server holds ` +
          `sequence numbers before ${nextSeq}, which cannot be declared missing`,
      );
    }
    if (d.firstSeq > nextSeq) {
      throw new ServerError(
        'ARCHIVE_GAP_MISMATCH',
        `expected sequence number ${nextSeq}, the declaration starts at ${d.firstSeq}: it must cover every ` +
          `missing sequence number from ${nextSeq} (gap)`,
      );
    }
    if (d.reason === 'bucket-disposed' && !(await tx.disposition.anyDisposed(orgId))) {
      throw new ServerError(
        'ARCHIVE_GAP_MISMATCH',
        `sequence numbers ${d.firstSeq}–${d.lastSeq} are declared sealed to a disposed bucket, but no bucket of ` +
          'this organisation has been disposed of',
      );
    }
    const expectedPrev = head === undefined ? new Uint8Array(32) : head.hash;
    if (!sameBytes(d.prev, expectedPrev)) {
      throw new ServerError(
        'ARCHIVE_GAP_MISMATCH',
        `expected sequence number ${nextSeq} to link to ${hex(expectedPrev)}, the declaration links to ${hex(d.prev)} (fork)`,
      );
    }
    const entry = encodeLogEntry({
      type: 'archive-gap',
      hash: createHash('sha256').update(document).digest(),
      size: document.length,
      actor: deviceId,
      time: now,
      org: orgId as string as CoreOrgId,
      device: deviceId as string as CoreDeviceId,
      seq: d.firstSeq,
      end: d.lastSeq,
      reason: d.reason,
    });
    const logIndex = await sequenceEntries(tx, orgId, [entry]);
    await tx.archive.insertGap(orgId, {
      deviceId,
      firstSeq: d.firstSeq,
      lastSeq: d.lastSeq,
      prevHash: Buffer.from(d.prev),
      resumeHash: Buffer.from(d.resume),
      reason: d.reason,
      declaration: Buffer.from(document),
      logIndex,
      receivedAt: now,
    });
    return { logIndex, stored: true, headSeq: d.lastSeq, headHash: Buffer.from(d.resume) };
  });
}
