/**
 * Device enrolment evidence in an export (docs/exports.md §5a): for every device whose batch
 * signatures the custody manifest carries, the `device-enrolled` key-event entry of the
 * org's log, the `device.register` act document that entry commits to (its detail names
 * `identity=<base64url SHA-256 of the identity key>`), and the entry's inclusion proof in a
 * signed checkpoint. Offline, `custos verify` checks each device's identity key in the
 * manifest against that commitment, as the console does online (search/enrolment-keys.ts):
 * a key swapped into an export and re-signed by someone else's key fails here, because the
 * log, signed by the log key, commits to the device's real key.
 *
 * The evidence is its own file, `device-enrolments.json`, listed (and hashed) in
 * export-files.json; it needs no binding to the manifest because every piece of it is
 * proven against a checkpoint signed by the export's (pinned) log key, and it is required:
 * an export without it, or without a device's entry, does not verify.
 */
import {
  decodeLogEntry,
  hashLeaf,
  openCheckpoint,
  verifyInclusion,
  type Checkpoint,
  type LogEntry,
} from '@custos/core';
import { checkActDocument } from '../audit/officer-audit.js';
import { identityKeyHash, parseEnrolmentDetail } from '../search/enrolment-keys.js';
import type { CustodyManifest } from './custody-manifest.js';
import { ExportError, parseExportJson, type ExportErrorCode } from './export-error.js';

/** File name of the enrolment evidence in every export. */
export const DEVICE_ENROLMENTS_FILE = 'device-enrolments.json';
/** Value of its `format` field. */
export const DEVICE_ENROLMENTS_FORMAT = 'custos-device-enrolments';
/** Version of its layout. */
export const DEVICE_ENROLMENTS_VERSION = 1;

/** One device's enrolment act as the org's audit listing serves it (base64url fields), with its checkpoint note. */
export interface DeviceEnrolmentProof {
  readonly org: string;
  readonly device: string;
  /** Leaf index of the `device-enrolled` entry. */
  readonly logIndex: number;
  /** The encoded log entry (base64url). */
  readonly entry: string;
  /** The `device.register` act document the entry's hash commits to (base64url). */
  readonly document: string;
  /** RFC 9162 inclusion proof hashes (base64url), leaf's sibling first. */
  readonly proof: readonly string[];
  /** The signed checkpoint note the proof leads to. */
  readonly checkpoint: string;
}

/** The file as written: checkpoints once, each device naming its checkpoint by index. */
interface EnrolmentsFile {
  readonly format: typeof DEVICE_ENROLMENTS_FORMAT;
  readonly version: typeof DEVICE_ENROLMENTS_VERSION;
  readonly checkpoints: readonly string[];
  readonly devices: readonly (Omit<DeviceEnrolmentProof, 'checkpoint'> & { readonly checkpoint: number })[];
}

const file = { file: DEVICE_ENROLMENTS_FILE };
const fail = (code: ExportErrorCode, message: string, cause?: unknown): ExportError =>
  new ExportError(code, message, file, cause);
const B64U = /^[A-Za-z0-9_-]*$/;

/** The evidence of `proofs` for the devices of `m`'s batches, as `device-enrolments.json` bytes (sorted, one-space JSON). */
export function serializeDeviceEnrolments(
  m: CustodyManifest,
  proofs: readonly DeviceEnrolmentProof[],
): Uint8Array {
  const wanted = new Set(m.batches.map((b) => `${b.org}\n${b.device}`));
  const checkpoints: string[] = [];
  const devices = [...new Map(proofs.map((p) => [`${p.org}\n${p.device}`, p])).values()]
    .filter((p) => wanted.has(`${p.org}\n${p.device}`))
    .sort((a, b) => a.logIndex - b.logIndex || (a.device < b.device ? -1 : 1))
    .map((p) => {
      let cp = checkpoints.indexOf(p.checkpoint);
      if (cp < 0) cp = checkpoints.push(p.checkpoint) - 1;
      return { ...p, proof: [...p.proof], checkpoint: cp };
    });
  const doc: EnrolmentsFile = {
    format: DEVICE_ENROLMENTS_FORMAT,
    version: DEVICE_ENROLMENTS_VERSION,
    checkpoints,
    devices,
  };
  return new TextEncoder().encode(`${JSON.stringify(doc, null, 1)}\n`);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isB64u = (v: unknown): v is string => isStr(v) && B64U.test(v);

/** Parses `device-enrolments.json` strictly; EXPORT_MALFORMED names what is wrong. */
export function parseDeviceEnrolments(bytes: Uint8Array): DeviceEnrolmentProof[] {
  const v = parseExportJson(bytes, DEVICE_ENROLMENTS_FILE) as Partial<EnrolmentsFile> | null;
  const malformed = (what: string): never => {
    throw fail('EXPORT_MALFORMED', `${DEVICE_ENROLMENTS_FILE}: ${what}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed('not an object');
  if (Object.keys(v).sort().join(',') !== 'checkpoints,devices,format,version')
    return malformed('unexpected or missing fields');
  if (v.format !== DEVICE_ENROLMENTS_FORMAT || v.version !== DEVICE_ENROLMENTS_VERSION)
    return malformed(`not a ${DEVICE_ENROLMENTS_FORMAT} version ${DEVICE_ENROLMENTS_VERSION} document`);
  if (!Array.isArray(v.checkpoints) || !v.checkpoints.every(isStr)) return malformed('bad checkpoints');
  if (!Array.isArray(v.devices)) return malformed('bad devices');
  const checkpoints = v.checkpoints;
  return v.devices.map((d: unknown, i) => {
    const x = d as Record<string, unknown>;
    if (
      typeof x !== 'object' ||
      x === null ||
      Object.keys(x).sort().join(',') !== 'checkpoint,device,document,entry,logIndex,org,proof' ||
      !isStr(x.org) ||
      !isStr(x.device) ||
      !Number.isSafeInteger(x.logIndex) ||
      (x.logIndex as number) < 0 ||
      !isB64u(x.entry) ||
      !isB64u(x.document) ||
      !Array.isArray(x.proof) ||
      !x.proof.every(isB64u) ||
      !Number.isSafeInteger(x.checkpoint) ||
      checkpoints[x.checkpoint as number] === undefined
    )
      return malformed(`device entry ${i} is malformed`);
    return {
      org: x.org,
      device: x.device,
      logIndex: x.logIndex as number,
      entry: x.entry,
      document: x.document,
      proof: x.proof,
      checkpoint: checkpoints[x.checkpoint as number]!,
    };
  });
}

const b64u = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));

/** Verifies one device's evidence against `log`; returns the committed identity-key hash and the device's user id. */
function committedKey(
  p: DeviceEnrolmentProof,
  log: CustodyManifest['log'],
  opened: Map<string, Checkpoint>,
): { readonly hash: string; readonly userId: string } {
  const where = `device ${p.device}'s enrolment (log index ${p.logIndex})`;
  let cp = opened.get(p.checkpoint);
  if (cp === undefined) {
    try {
      cp = openCheckpoint(p.checkpoint, [log.verifierKey], log.origin).checkpoint;
    } catch (e) {
      throw fail('CHECKPOINT_INVALID', `${where}: its checkpoint does not verify with the log key`, e);
    }
    opened.set(p.checkpoint, cp);
  }
  const entryBytes = b64u(p.entry);
  try {
    verifyInclusion(hashLeaf(entryBytes), p.logIndex, cp.treeSize, p.proof.map(b64u), cp.rootHash);
  } catch (e) {
    throw fail('PROOF_INVALID', `${where}: its inclusion proof does not lead to the signed checkpoint`, e);
  }
  let entry: LogEntry;
  try {
    entry = decodeLogEntry(entryBytes);
  } catch (e) {
    throw fail('EXPORT_MALFORMED', `${where}: the log entry does not decode`, e);
  }
  if (entry.type !== 'key-event' || entry.kind !== 'device-enrolled' || entry.subject !== p.device)
    throw fail('ENROLMENT_UNPROVEN', `${where}: the log entry is not this device's enrolment`);
  let det: string | undefined;
  try {
    det = checkActDocument(p.org, entry, b64u(p.document), p.logIndex).det;
  } catch (e) {
    throw fail('ENROLMENT_UNPROVEN', `${where}: ${e instanceof Error ? e.message : 'bad act document'}`, e);
  }
  let detail: ReturnType<typeof parseEnrolmentDetail>;
  try {
    detail = parseEnrolmentDetail(det ?? '');
  } catch (e) {
    throw fail('ENROLMENT_UNPROVEN', `${where}: ${e instanceof Error ? e.message : 'bad detail'}`, e);
  }
  if (detail.identityHash === null)
    throw fail(
      'ENROLMENT_UNPROVEN',
      `${where}: the device enrolled before the log committed to identity keys, so its key cannot be checked`,
    );
  return { hash: detail.identityHash, userId: detail.userId };
}

/**
 * Checks every batch's identity key in `m` against its device's enrolment commitment in
 * `bytes` (`device-enrolments.json`; undefined when the export has none), proven under
 * `m.log` (already checked against any pinned key). Throws an ExportError naming the first
 * failure; returns the number of devices checked.
 */
export function checkDeviceEnrolments(m: CustodyManifest, bytes: Uint8Array | undefined): number {
  return enrolledUsers(m, bytes).size;
}

/** Key of a device in {@link enrolledUsers}' answer. */
export const deviceKey = (org: string, device: string): string => `${org}\n${device}`;

/**
 * The user each of `proofs` proves its device enrolled for, as a user address by
 * {@link deviceKey}, every proof checked against `log` as {@link enrolledUsers} checks it
 * (the same throws). Whose devices an export by device holds, known before the export is
 * built: its custodian, whether or not the devices sent anything in the exported range.
 */
export function provenDeviceUsers(
  proofs: readonly DeviceEnrolmentProof[],
  log: CustodyManifest['log'],
): Map<string, string> {
  const opened = new Map<string, Checkpoint>();
  return new Map(
    proofs.map((p) => [deviceKey(p.org, p.device), `${p.org}.${committedKey(p, log, opened).userId}`]),
  );
}

/**
 * {@link checkDeviceEnrolments}, answering each checked device's user as the log's enrolment
 * act names it, as a user address (`ORGID.USERID`, as records write senders) by
 * {@link deviceKey}: who archived each record, which the renderings need for a message's
 * direction (event-model.ts). Only proven evidence answers: the same throws as there.
 */
export function enrolledUsers(m: CustodyManifest, bytes: Uint8Array | undefined): Map<string, string> {
  if (bytes === undefined)
    throw fail(
      'ENROLMENT_UNPROVEN',
      `the export has no ${DEVICE_ENROLMENTS_FILE}: the devices' identity keys cannot be checked against the log`,
    );
  const proofs = new Map<string, DeviceEnrolmentProof>();
  for (const p of parseDeviceEnrolments(bytes)) {
    const k = deviceKey(p.org, p.device);
    if (proofs.has(k))
      throw fail('EXPORT_MALFORMED', `${DEVICE_ENROLMENTS_FILE} lists device ${p.device} twice`);
    proofs.set(k, p);
  }
  const opened = new Map<string, Checkpoint>();
  const committed = new Map<string, string>();
  const users = new Map<string, string>();
  for (const b of m.batches) {
    const k = deviceKey(b.org, b.device);
    let hash = committed.get(k);
    if (hash === undefined) {
      const p = proofs.get(k);
      if (p === undefined)
        throw fail(
          'ENROLMENT_UNPROVEN',
          `device ${b.device} signs exported records but ${DEVICE_ENROLMENTS_FILE} has no enrolment for it`,
        );
      const c = committedKey(p, m.log, opened);
      hash = c.hash;
      committed.set(k, hash);
      users.set(k, `${b.org}.${c.userId}`);
    }
    if (identityKeyHash(new Uint8Array(Buffer.from(b.identityKey, 'base64'))) !== hash)
      throw fail(
        'IDENTITY_KEY_MISMATCH',
        `device ${b.device}: the identity key that signs its exported records is not the one its enrolment committed to in the log`,
      );
  }
  return users;
}
