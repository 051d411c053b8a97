/**
 * Reviewing a contact's identity keys: the unaccepted identity changes the store recorded,
 * the keys a contact's devices present now (read from the server's prekey bundles), and the
 * safety number each key gives with ours (libsignal Fingerprint, as Signal: 5200 iterations,
 * version 2). A changed key is accepted only after the user compares safety numbers.
 */
import { Fingerprint, PublicKey } from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import type { IdentityChangeEvent, SqliteIdentityStore } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bytes, int, obj, str } from '../transport/response-checks.js';
import { getContact, userAddress, type PeerUser } from './peers.js';

/** libsignal safety-number parameters. */
export const FINGERPRINT_ITERATIONS = 5200;
/** libsignal safety-number version. */
export const FINGERPRINT_VERSION = 2;

/** A device whose identity key changed and is not accepted yet. */
export interface PendingIdentityChange {
  readonly peer: PeerUser;
  readonly deviceNumber: number;
  readonly at: number;
}

/** A key a contact's device presents now, and what it means for us. */
export interface PresentedIdentity {
  readonly deviceId: string;
  readonly deviceNumber: number;
  /** Serialized identity public key (33 bytes). */
  readonly identityKey: Uint8Array;
  readonly safetyNumber: string;
  /** 'new': never seen; 'same': the pinned key; 'changed': differs from the pinned key. */
  readonly status: 'new' | 'same' | 'changed';
}

/** The displayable safety number of our key and a peer's. */
export function safetyNumber(me: PeerUser, local: PublicKey, peer: PeerUser, theirs: PublicKey): string {
  const a = new Uint8Array(Buffer.from(userAddress(me), 'utf8'));
  const b = new Uint8Array(Buffer.from(userAddress(peer), 'utf8'));
  return Fingerprint.new(FINGERPRINT_ITERATIONS, FINGERPRINT_VERSION, a, local, b, theirs)
    .displayableFingerprint()
    .toString();
}

/** Safety numbers with each device of `peer` this device knows and holds a pinned key for. */
export function knownSafetyNumbers(
  store: LocalStore,
  identities: SqliteIdentityStore,
  me: PeerUser,
  local: PublicKey,
  peer: PeerUser,
): { deviceId: string; safetyNumber: string }[] {
  const out = [];
  for (const d of getContact(store, peer)?.devices ?? []) {
    const key = identities.identityOf(`${userAddress(peer)}.${d.deviceNumber}`);
    if (key === null) continue;
    out.push({ deviceId: d.deviceId, safetyNumber: safetyNumber(me, local, peer, key) });
  }
  return out;
}

/** Unaccepted changes, parsed from libsignal addresses `<org>.<user>.<device>`. */
export function pendingChanges(changes: readonly IdentityChangeEvent[]): PendingIdentityChange[] {
  const out: PendingIdentityChange[] = [];
  for (const c of changes) {
    if (c.accepted) continue;
    const [orgId, userId, n] = c.address.split('.');
    if (orgId === undefined || userId === undefined || n === undefined || !/^[0-9]+$/.test(n)) continue;
    out.push({ peer: { orgId, userId }, deviceNumber: Number(n), at: c.at });
  }
  return out;
}

/**
 * Reads the identity keys of `peer`'s current devices from the server's prekey bundles
 * (this spends one one-time prekey per device, so it runs only when a user asks) and
 * compares each with the key pinned in `identities`.
 */
export async function presentedIdentities(
  api: ApiClient,
  identities: SqliteIdentityStore,
  me: PeerUser,
  local: PublicKey,
  peer: PeerUser,
): Promise<PresentedIdentity[]> {
  const res = obj(await api.request('GET', `/v1/prekey-bundles/${peer.orgId}/${peer.userId}`), 'bundles');
  const out: PresentedIdentity[] = [];
  for (const item of arr(res, 'devices')) {
    const b = obj(item, 'bundle');
    const deviceNumber = int(b, 'deviceNumber');
    const raw = bytes(b, 'identityKey', 33);
    let key: PublicKey;
    try {
      key = PublicKey.deserialize(raw);
    } catch (e) {
      throw new ClientError('SERVER_RESPONSE_INVALID', 'a prekey bundle holds a malformed identity key', {
        cause: e,
      });
    }
    const pinned = identities.identityOf(`${userAddress(peer)}.${deviceNumber}`);
    out.push({
      deviceId: str(b, 'deviceId'),
      deviceNumber,
      identityKey: raw,
      safetyNumber: safetyNumber(me, local, peer, key),
      status: pinned === null ? 'new' : pinned.equals(key) ? 'same' : 'changed',
    });
  }
  return out;
}
