/**
 * Test support: the enrolment evidence an export carries (device-enrolments.ts) for given
 * devices and identity keys — real `device-enrolled` entries, act documents committing to
 * each key, inclusion proofs and a checkpoint signed by the given log key.
 */
import { parseCheckpoint, parseSignerKey, signCheckpoint } from '@custos/core';
import { auditListingFor } from '../search/enrolment-test-support.js';
import type { DeviceEnrolmentProof } from './device-enrolments.js';

/**
 * Evidence for `devices` (id → serialized identity key) of `org`, under `log`'s signer key;
 * each device enrolled for `users.get(id)` (a user id; default `user-1`).
 */
export function enrolmentProofsFor(
  org: string,
  log: { readonly origin: string; readonly signerKey: string },
  devices: ReadonlyMap<string, Uint8Array>,
  users: ReadonlyMap<string, string> = new Map(),
): DeviceEnrolmentProof[] {
  const ids = [...devices.keys()];
  const listing = auditListingFor(
    org,
    log,
    ids.map((deviceId) => {
      const userId = users.get(deviceId);
      return { deviceId, identityKey: devices.get(deviceId)!, ...(userId === undefined ? {} : { userId }) };
    }),
  );
  const note = (listing.checkpoint as { note: string }).note;
  return (listing.acts as { index: number; entry: string; document: string; proof: string[] }[]).map((a) => ({
    org,
    device: ids[a.index]!,
    logIndex: a.index,
    entry: a.entry,
    document: a.document,
    proof: a.proof,
    checkpoint: note,
  }));
}

/** `device-enrolments.json` bytes with every checkpoint re-signed by `signerKey` (a forger's key of the same name). */
export function resignEnrolments(bytes: Uint8Array, signerKey: string): Uint8Array {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { checkpoints: string[] };
  doc.checkpoints = doc.checkpoints.map((note) =>
    signCheckpoint(parseCheckpoint(`${note.split('\n\n')[0]!}\n`), parseSignerKey(signerKey)),
  );
  return Buffer.from(`${JSON.stringify(doc, null, 1)}\n`);
}
