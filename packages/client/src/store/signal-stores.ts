/**
 * libsignal's protocol stores (identity, sessions, one-time, signed and Kyber prekeys)
 * over the encrypted local store. Every record is the library's own serialization,
 * encrypted at rest like everything else.
 *
 * Identity policy: trust on first use, per device address. A device's identity key never
 * legitimately changes in Custos (re-enrolling makes a new device id), so a changed key is
 * refused in both directions until the user accepts it ({@link SqliteIdentityStore.acceptIdentity}),
 * and the change is recorded so the UI can warn.
 */
import type { Direction, PrivateKey, ProtocolAddress } from '@signalapp/libsignal-client';
import {
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyRecord,
  PreKeyStore,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import type { LocalStore } from './local-store.js';

/** Profile keys of the local identity. */
const IDENTITY_KEY = 'identity-key-pair';
const REGISTRATION_ID = 'registration-id';

type Buf = Uint8Array<ArrayBuffer>;
const copy = (b: Uint8Array): Buf => new Uint8Array(b);

/** Writes the device's own identity key pair and registration id (at enrolment). */
export function saveLocalIdentity(store: LocalStore, pair: IdentityKeyPair, registrationId: number): void {
  store.transaction(() => {
    // MUST NOT log: contains the identity private key.
    store.put('profile', IDENTITY_KEY, pair.serialize());
    store.putJson('profile', REGISTRATION_ID, registrationId);
  });
}

/** The device's identity key pair; NOT_ENROLLED before enrolment. */
export function loadLocalIdentity(store: LocalStore): IdentityKeyPair {
  const bytes = store.get('profile', IDENTITY_KEY);
  if (bytes === undefined) throw new ClientError('NOT_ENROLLED', 'this profile has no identity key yet');
  return IdentityKeyPair.deserialize(copy(bytes));
}

/** A recorded identity change of a peer device, for the UI's warning. */
export interface IdentityChangeEvent {
  readonly address: string;
  readonly at: number;
  readonly accepted: boolean;
}

/** libsignal IdentityKeyStore over the local store (trust on first use). */
export class SqliteIdentityStore extends IdentityKeyStore {
  #pair: IdentityKeyPair | undefined;

  constructor(
    private readonly store: LocalStore,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  #local(): IdentityKeyPair {
    this.#pair ??= loadLocalIdentity(this.store);
    return this.#pair;
  }

  override async getIdentityKey(): Promise<PrivateKey> {
    return this.#local().privateKey;
  }

  override async getLocalRegistrationId(): Promise<number> {
    const id = this.store.getJson<number>('profile', REGISTRATION_ID);
    if (id === undefined) throw new ClientError('NOT_ENROLLED', 'this profile has no registration id yet');
    return id;
  }

  override async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const existing = await this.getIdentity(name);
    if (existing !== null && existing.equals(key)) return IdentityChange.NewOrUnchanged;
    if (existing !== null) {
      // Only acceptIdentity may replace a known key; a silent replacement would defeat the warning.
      this.#recordChange(name.toString(), false);
      return IdentityChange.ReplacedExisting;
    }
    this.store.put('identities', name.toString(), key.serialize());
    return IdentityChange.NewOrUnchanged;
  }

  override async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _d: Direction): Promise<boolean> {
    const existing = await this.getIdentity(name);
    if (existing === null || existing.equals(key)) return true;
    this.#recordChange(name.toString(), false);
    return false;
  }

  override async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const b = this.store.get('identities', name.toString());
    return b === undefined ? null : PublicKey.deserialize(copy(b));
  }

  /** The stored identity of an address string (`name.deviceNumber`), or null. */
  identityOf(address: string): PublicKey | null {
    const b = this.store.get('identities', address);
    return b === undefined ? null : PublicKey.deserialize(copy(b));
  }

  /** Accepts a peer device's new identity key after the user has checked it (safety number). */
  acceptIdentity(address: string, key: PublicKey): void {
    this.store.transaction(() => {
      this.store.put('identities', address, key.serialize());
      this.store.delete('sessions', address);
      this.#recordChange(address, true);
    });
  }

  /**
   * Records that `address` presented another key than the pinned one (unaccepted), e.g. after
   * a send that found it rolled its own transaction back.
   */
  notePendingChange(address: string): void {
    if (this.store.get('identities', address) !== undefined) this.#recordChange(address, false);
  }

  /** Identity changes seen so far (unaccepted ones block messaging with that device). */
  changes(): IdentityChangeEvent[] {
    return this.store.getJson<IdentityChangeEvent[]>('profile', 'identity-changes') ?? [];
  }

  #recordChange(address: string, accepted: boolean): void {
    const list = this.changes().filter((c) => c.address !== address);
    list.push({ address, at: this.clock(), accepted });
    this.store.putJson('profile', 'identity-changes', list);
  }
}

/** libsignal SessionStore over the local store. */
export class SqliteSessionStore extends SessionStore {
  constructor(private readonly store: LocalStore) {
    super();
  }

  override async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.store.put('sessions', name.toString(), record.serialize());
  }

  override async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const b = this.store.get('sessions', name.toString());
    return b === undefined ? null : SessionRecord.deserialize(copy(b));
  }

  override async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((a) => {
      const b = this.store.get('sessions', a.toString());
      if (b === undefined) throw new ClientError('NOT_ENROLLED', `no session with ${a.toString()}`);
      return SessionRecord.deserialize(copy(b));
    });
  }

  /** Drops the session with a device (it was revoked, or its identity changed). */
  deleteSession(address: string): void {
    this.store.delete('sessions', address);
  }
}

/** libsignal PreKeyStore (one-time EC prekeys) over the local store. */
export class SqlitePreKeyStore extends PreKeyStore {
  constructor(private readonly store: LocalStore) {
    super();
  }

  override async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.put(id, record);
  }

  /** Synchronous save, for use inside a store transaction. */
  put(id: number, record: PreKeyRecord): void {
    this.store.put('prekeys', String(id), record.serialize(), id);
  }

  override async getPreKey(id: number): Promise<PreKeyRecord> {
    const b = this.store.get('prekeys', String(id));
    if (b === undefined) throw new ClientError('ENVELOPE_INVALID', `unknown or already used prekey ${id}`);
    return PreKeyRecord.deserialize(copy(b));
  }

  override async removePreKey(id: number): Promise<void> {
    this.store.delete('prekeys', String(id));
  }
}

/** libsignal SignedPreKeyStore over the local store. */
export class SqliteSignedPreKeyStore extends SignedPreKeyStore {
  constructor(private readonly store: LocalStore) {
    super();
  }

  override async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.put(id, record);
  }

  /** Synchronous save, for use inside a store transaction. */
  put(id: number, record: SignedPreKeyRecord): void {
    this.store.put('signed-prekeys', String(id), record.serialize(), id);
  }

  override async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const b = this.store.get('signed-prekeys', String(id));
    if (b === undefined) throw new ClientError('ENVELOPE_INVALID', `unknown signed prekey ${id}`);
    return SignedPreKeyRecord.deserialize(copy(b));
  }
}

interface KyberRow {
  readonly record: Uint8Array;
  readonly lastResort: boolean;
}

/**
 * libsignal KyberPreKeyStore over the local store. One-time Kyber prekeys are deleted on
 * use; a last-resort key stays, and each (signed prekey, base key) pair it was used with
 * is remembered so a replayed PreKeySignalMessage is refused.
 */
export class SqliteKyberPreKeyStore extends KyberPreKeyStore {
  constructor(private readonly store: LocalStore) {
    super();
  }

  override async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.saveKyberPreKeyWithKind(id, record, false);
  }

  /** Saves a Kyber prekey, marking whether it is the last-resort key. */
  saveKyberPreKeyWithKind(id: number, record: KyberPreKeyRecord, lastResort: boolean): void {
    this.store.putJson('kyber-prekeys', String(id), { record: record.serialize(), lastResort }, id);
  }

  override async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const row = this.store.getJson<KyberRow>('kyber-prekeys', String(id));
    if (row === undefined)
      throw new ClientError('ENVELOPE_INVALID', `unknown or already used Kyber prekey ${id}`);
    return KyberPreKeyRecord.deserialize(copy(row.record));
  }

  override async markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    const row = this.store.getJson<KyberRow>('kyber-prekeys', String(id));
    if (row === undefined) throw new ClientError('ENVELOPE_INVALID', `unknown Kyber prekey ${id}`);
    if (!row.lastResort) {
      this.store.delete('kyber-prekeys', String(id));
      return;
    }
    const seen = `used:${id}:${signedPreKeyId}:${Buffer.from(baseKey.serialize()).toString('hex')}`;
    if (this.store.get('kyber-prekeys', seen) !== undefined)
      throw new ClientError('ENVELOPE_INVALID', 'a replayed prekey message (last-resort key reused)');
    this.store.put('kyber-prekeys', seen, new Uint8Array(0));
  }
}

/** All five libsignal stores of one device. */
export interface SignalStores {
  readonly identity: SqliteIdentityStore;
  readonly sessions: SqliteSessionStore;
  readonly preKeys: SqlitePreKeyStore;
  readonly signedPreKeys: SqliteSignedPreKeyStore;
  readonly kyberPreKeys: SqliteKyberPreKeyStore;
}

/** The libsignal stores over `store`. */
export function signalStores(store: LocalStore, clock: () => number = Date.now): SignalStores {
  return {
    identity: new SqliteIdentityStore(store, clock),
    sessions: new SqliteSessionStore(store),
    preKeys: new SqlitePreKeyStore(store),
    signedPreKeys: new SqliteSignedPreKeyStore(store),
    kyberPreKeys: new SqliteKyberPreKeyStore(store),
  };
}
