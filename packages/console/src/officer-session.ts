/**
 * An officer session (docs/officers.md §1): the officer's profile opened with their
 * passphrase, plus their officer device (officer-device.ts) for the officer routes. Opened
 * keys live only in this process, behind handles; raw copies are zeroed as soon as they are
 * imported, and {@link OfficerSession.close} drops every handle and the device token (the
 * CLI closes the session in a `finally`, so they die with the process at the latest).
 *
 * Everything read from the server is checked against the profile: the org signing key
 * against the pinned fingerprint, the delegation against that key and the key-manager key
 * in the officer's own key file, and every bucket document against the delegation.
 */
import { type BucketKeyDocument, type KeyManagerDelegation, type RootKeyStatement } from '@custos/core';
import type { KdfPolicy } from '@custos/core';
import { b64u, CeremonyApi, type CallOptions, type DeviceAuth } from './ceremony-api.js';
import { ConsoleError, isConsoleError } from './console-error.js';
import {
  buildDelegationChain,
  currentLink,
  verifyBucketUnderChain,
  type DelegationLink,
} from './key-manager-chain.js';
import { unwrapKeyManagerKey } from './key-manager-wrap.js';
import { OfficerDevice } from './officer-device.js';
import { checkOfficerListInLog } from './officer-list-freshness.js';
import { refreshOfficerList, type AdoptedOfficerList } from './officer-list-refresh.js';
import { refreshRootKey } from './root-key-statement.js';
import { loadOfficerProfile, type OfficerProfile } from './officer-profile.js';
import { fromB64u } from './profile-files.js';
import { keyFingerprint, type SigningKey } from './signing-key.js';

type Json = Record<string, unknown>;

/** Most pages of buckets read from the server in one listing. */
const MAX_BUCKET_PAGES = 100;

/** The org's key material as the server serves it, verified against the profile. */
export interface VerifiedOrgKeys {
  readonly signingPublicKey: Uint8Array;
  /** The current delegation (bytes) and its verified content. */
  readonly delegation: Uint8Array;
  readonly keyManager: KeyManagerDelegation;
  /** Every known delegation, verified and ordered (key-manager-chain.ts); the last is the current one. */
  readonly chain: readonly DelegationLink[];
}

/** A registered bucket whose document verified. */
export interface VerifiedServerBucket extends BucketKeyDocument {
  readonly document: Uint8Array;
  /** Signed by the current key-manager key (false: by a key a rotation superseded). */
  readonly currentKey: boolean;
}

/** An open officer session. */
export interface OfficerSession {
  readonly dir: string;
  readonly orgId: string;
  /** The server's 0-based officer index. */
  readonly officerIndex: number;
  /** The opened profile: keys, org.json, wrapped bucket keys. */
  readonly officer: OfficerProfile;
  readonly api: CeremonyApi;
  /** The officer device's id; NOT_ENROLLED without one. */
  deviceId(): string;
  /** Sends one request as the officer device; NOT_ENROLLED without one. */
  call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, options?: CallOptions): Promise<Json>;
  /** Downloads raw bytes (a blob) as the officer device; NOT_ENROLLED without one. */
  download(path: string): Promise<Uint8Array>;
  /** The server's org signing key and delegation, verified against the profile. */
  orgKeys(): Promise<VerifiedOrgKeys>;
  /**
   * The current key-manager signing key: the one in the officer's key file, or after a
   * rotation this officer's wrap of the new key from the server, checked against the delegation.
   */
  keyManagerKey(): Promise<SigningKey>;
  /** Every registered bucket, each document verified; BUCKET_INVALID names one that does not. */
  serverBuckets(): Promise<VerifiedServerBucket[]>;
  /**
   * Adopts a newer officer list signed with the org key (after another officer's `org officers
   * add|remove`) into org.json and this session; null when the profile was current. The
   * served list must be the one the org's log names in its latest `officers.change` act
   * (officer-list-freshness.ts): a server withholding a newer list stops the command.
   */
  refreshOfficers(): Promise<AdoptedOfficerList | null>;
  /**
   * Adopts a newer root-archive-key statement signed with the org key (after a quorum's
   * `org unlock --rotate-root`) into org.json and this session; null when the profile was current.
   */
  refreshRootKey(): Promise<RootKeyStatement | null>;
  /** Drops the opened keys, the device key and its token. */
  close(): void;
}

/** Options of {@link openOfficerSession}. */
export interface OfficerSessionOptions {
  /** KDF acceptance policy (tests only may allow weak parameters). */
  readonly kdf?: KdfPolicy;
}

/** Opens the officer profile in `dir` with `passphrase`, and its officer device if enrolled. */
export async function openOfficerSession(
  dir: string,
  passphrase: string,
  options: OfficerSessionOptions = {},
): Promise<OfficerSession> {
  // Replaced (never mutated) when a newer officer list is adopted.
  let officer = await loadOfficerProfile(dir, passphrase, options.kdf ?? {});
  const orgId = officer.profile.orgId;
  const officerIndex = officer.profile.officerIndex;
  const api = new CeremonyApi(officer.profile.server);
  let device: OfficerDevice | undefined;
  let missing: unknown;
  try {
    device = await OfficerDevice.open(dir, orgId, officerIndex, officer.keys.hpkePrivateKey);
  } catch (e) {
    missing = e;
  }
  let closed = false;
  const need = (): OfficerDevice => {
    if (closed) throw new ConsoleError('NOT_ENROLLED', 'the officer session is closed');
    if (device === undefined) throw missing;
    return device;
  };
  const auth = (): Promise<DeviceAuth> => need().auth(api, orgId);
  // Separation of duties (docs/officers.md §2): the server lets the device act as an officer
  // only once this officer has bound it with their officer signing key. The first refusal
  // (OFFICER_NOT_BOUND: a device enrolled since, or before bindings existed) binds it and
  // repeats the request — refused in the auth guard, it changed nothing. Once per session.
  let bindTried = false;
  const bound = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (e) {
      if (bindTried || !isConsoleError(e) || e.serverCode !== 'OFFICER_NOT_BOUND') throw e;
      bindTried = true;
      await bindDevice();
      return request();
    }
  };
  const bindDevice = async (): Promise<void> => {
    const statement = need().bindingStatement(orgId, officerIndex, officer.keys.signingKey);
    try {
      await api.call(
        'PUT',
        `/v1/orgs/${orgId}/officer-binding`,
        { statement: b64u(statement) },
        await auth(),
      );
    } catch (e) {
      if (!isConsoleError(e)) throw e;
      throw new ConsoleError(
        e.code,
        `the server refuses to bind this officer device to officer ${officerIndex + 1}: ${e.message}`,
        { cause: e, ...(e.serverCode === undefined ? {} : { serverCode: e.serverCode }) },
      );
    }
  };

  const session: OfficerSession = {
    dir,
    orgId,
    officerIndex,
    get officer() {
      return officer;
    },
    api,
    deviceId: () => need().deviceId,
    call: (method, path, body, options) =>
      bound(async () => api.call(method, path, body, await auth(), options)),
    download: (path) => bound(async () => api.download(path, await auth())),
    orgKeys: () => fetchOrgKeys(session),
    async serverBuckets() {
      const k = await session.orgKeys();
      const out: VerifiedServerBucket[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_BUCKET_PAGES; page++) {
        const q = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
        const r = await session.call('GET', `/v1/orgs/${orgId}/buckets${q}`);
        const list = Array.isArray(r.buckets) ? (r.buckets as Json[]) : [];
        for (const b of list) {
          const id = typeof b.bucketId === 'string' ? b.bucketId : '?';
          const document = typeof b.document === 'string' ? fromB64u(b.document) : new Uint8Array();
          let v;
          try {
            v = verifyBucketUnderChain(document, k.chain);
          } catch (e) {
            throw new ConsoleError(
              'BUCKET_INVALID',
              `the server lists bucket ${id} with a document that does not verify against the org's keys: stop and tell the other officers`,
              { cause: e },
            );
          }
          if (v.doc.org !== orgId || v.doc.bucket !== id) {
            throw new ConsoleError('BUCKET_INVALID', `the server lists bucket ${id} under another org or id`);
          }
          out.push({ ...v.doc, document, currentKey: v.current });
          after = id;
        }
        if (list.length === 0) break;
      }
      return out;
    },
    async keyManagerKey() {
      const k = await session.orgKeys();
      const own = officer.keys.keyManager;
      if (Buffer.compare(Buffer.from(own.publicKey), Buffer.from(k.keyManager.key)) === 0) return own;
      const r = await session.call('GET', `/v1/orgs/${orgId}/key-manager/wraps`);
      const items = Array.isArray(r.items) ? (r.items as Json[]) : [];
      const mine = items.find((i) => i.recipient === String(officerIndex));
      if (typeof mine?.blob !== 'string') {
        throw new ConsoleError(
          'PROFILE_INVALID',
          'the key-manager key was rotated and the server holds no wrap of the new key for this officer',
        );
      }
      return unwrapKeyManagerKey(fromB64u(mine.blob), officer.keys.hpkePrivateKey, {
        org: orgId,
        to: String(officerIndex),
        publicKey: k.keyManager.key,
      });
    },
    async refreshOfficers() {
      const adopted = await refreshOfficerList(
        dir,
        officer.org,
        officer.profile.signingKeyFingerprint,
        (method, path) => session.call(method, path),
        (served) => checkOfficerListInLog(session, served),
      );
      if (adopted !== null) officer = { ...officer, org: adopted.org };
      return adopted;
    },
    async refreshRootKey() {
      const adopted = await refreshRootKey(
        dir,
        officer.org,
        officer.profile.signingKeyFingerprint,
        (method, path) => session.call(method, path),
      );
      if (adopted === null) return null;
      officer = { ...officer, org: adopted.org };
      return adopted.statement;
    },
    close() {
      closed = true;
      device?.close();
      device = undefined;
    },
  };
  return session;
}

async function fetchOrgKeys(s: OfficerSession): Promise<VerifiedOrgKeys> {
  const r = await s.call('GET', `/v1/orgs/${s.orgId}`);
  const km = r.keyManager as Json | undefined;
  if (typeof r.signingPublicKey !== 'string' || typeof km?.delegation !== 'string') {
    throw new ConsoleError('SERVER_REFUSED', `GET /v1/orgs/${s.orgId}: the answer lacks required fields`);
  }
  const signingPublicKey = fromB64u(r.signingPublicKey);
  if (keyFingerprint(signingPublicKey) !== s.officer.profile.signingKeyFingerprint) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the server presents another org signing key than this profile pins: stop, the server is not trustworthy',
    );
  }
  // The chain: the server's current delegation and the ones it says a rotation superseded,
  // plus every delegation this profile verified before (so a server serving an older one as
  // current is caught). Each link verifies with the pinned org signing key.
  const chainAnswer = await s.call('GET', `/v1/orgs/${s.orgId}/key-manager`);
  const previous = Array.isArray(chainAnswer.previous) ? (chainAnswer.previous as unknown[]) : [];
  const local = s.officer.org.keyManager;
  const all = [
    km.delegation,
    ...previous.filter((p): p is string => typeof p === 'string'),
    local.delegation,
    ...(local.previous ?? []),
  ].map(fromB64u);
  let chain: DelegationLink[];
  try {
    chain = buildDelegationChain(all, signingPublicKey);
  } catch (e) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      "the server's key-manager delegations do not verify with the org signing key",
      { cause: e },
    );
  }
  const current = currentLink(chain);
  const served = chain.find((l) => Buffer.compare(Buffer.from(l.delegation), Buffer.from(all[0]!)) === 0);
  if (served !== undefined && served !== current && served.supersededAt !== null) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the server presents a superseded key-manager delegation as the current one: stop, the server is not trustworthy',
    );
  }
  return { signingPublicKey, delegation: current.delegation, keyManager: current.keyManager, chain };
}
