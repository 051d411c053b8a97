/**
 * Relay receipts: for every envelope from or to a device of an archiving organisation, the
 * relay appends a `relay-receipt` log entry (core/log-entry) to that organisation's log, in
 * the same transaction as the enqueue. The entry commits to the envelope's content:
 * hash = SHA-256 of the exact ciphertext bytes the sender uploaded (what both devices
 * record in their archive records), size = their length, actor = sender = sending device.
 */
import { hash } from 'node:crypto';
import { encodeLogEntry, type DeviceId as CoreDeviceId, type RelayReceiptEntry } from '@custos/core';
import type { DeviceId, OrgId } from '../ids.js';
import type { Stores } from '../store/stores.js';

/** Appends encoded entries to an org's log inside `tx` (log-service `sequenceEntries`). */
export type ReceiptSequencer = (tx: Stores, orgId: OrgId, entries: readonly Uint8Array[]) => Promise<number>;

/**
 * Whether an organisation archives, i.e. wants relay receipts in its log; `tx` is the
 * relay's transaction, for a policy read from the store (orgs/archive-policies.ts). An org
 * whose archive policy is `none` gets no receipts: it keeps no archive to match them with.
 */
export type ArchivePolicy = (orgId: OrgId, tx: Stores) => boolean | Promise<boolean>;

/** SHA-256 of an envelope's content: the hash a receipt and both devices' archive records carry. */
export function envelopeHash(content: Buffer): Buffer {
  // One-shot hash: no Hash object per envelope.
  return hash('sha256', content, 'buffer');
}

/**
 * The encoded relay-receipt entry for one envelope; `contentHash`, when the caller hashed the
 * content already, is its {@link envelopeHash}.
 */
export function relayReceipt(
  sender: DeviceId,
  recipient: DeviceId,
  content: Buffer,
  time: number,
  contentHash: Buffer = envelopeHash(content),
): Uint8Array {
  const entry: RelayReceiptEntry = {
    type: 'relay-receipt',
    hash: contentHash,
    size: content.length,
    actor: sender,
    sender: sender as string as CoreDeviceId,
    recipient: recipient as string as CoreDeviceId,
    time,
  };
  return encodeLogEntry(entry);
}
