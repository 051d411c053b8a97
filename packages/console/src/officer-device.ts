/**
 * An officer's device (docs/officers.md §2). Officer routes (officer wraps, index keys, key
 * manager) need an authenticated device whose user has the role `officer`; the ceremony
 * registers officers' public keys but enrols no device for them. An officer enrols one with
 * an enrolment code an admin issued for an officer user: the console generates a libsignal
 * identity (ceremony-device.ts: public keys only go to the server; it never messages), and
 * keeps its private key in `officer-device.json` in the officer profile, HPKE-sealed to the
 * officer's own X25519 key — so the file is useless without the officer's passphrase, and
 * enrolling needs no passphrase at all (only the public key in profile.json).
 *
 *   officer-device.json = { format: "custos-officer-device", version: 1, orgId, officerIndex,
 *                           userId, deviceId, enrolledAt, enc, ct }
 *   ct = HPKE(info "custos-officer-device-v1", aad = canonical JSON of the other fields,
 *             pt = libsignal identity private key, 32 bytes)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  BucketPublicKey,
  sealOfficerDeviceBinding,
  type BucketPrivateKey,
  type OrgDocSigner,
} from '@custos/core';
import { b64u, CeremonyApi, type DeviceAuth } from './ceremony-api.js';
import { CeremonyDeviceKey } from './ceremony-device.js';
import { ConsoleError, isConsoleError } from './console-error.js';
import { hpkeOpen, hpkeSeal } from './hpke-box.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import { canonicalJson } from './passphrase-box.js';
import { exists, writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, readProfileFile, type OfficerProfileFile } from './profile-files.js';

/** File name of the officer device in an officer profile folder. */
export const OFFICER_DEVICE_FILE = 'officer-device.json';
const FORMAT = 'custos-officer-device';
const INFO = 'custos-officer-device-v1';
const ENROLMENT_CODE = /^ce1\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}\.([A-Za-z0-9_-]{43})$/;

/** officer-device.json. */
export interface OfficerDeviceFile {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly orgId: string;
  readonly officerIndex: number;
  readonly userId: string;
  readonly deviceId: string;
  readonly enrolledAt: number;
  readonly enc: string;
  readonly ct: string;
}

/** What enrolment did. */
export interface OfficerEnrolment {
  readonly orgId: string;
  readonly officerIndex: number;
  readonly userId: string;
  readonly deviceId: string;
  readonly file: string;
}

function aadOf(f: Omit<OfficerDeviceFile, 'enc' | 'ct'>): Uint8Array {
  return new TextEncoder().encode(canonicalJson(f));
}

/** The session the server reports for a device token. */
async function sessionOf(api: CeremonyApi, auth: DeviceAuth): Promise<{ role: string; userId: string }> {
  const s = await api.call('GET', '/v1/session', undefined, auth);
  if (typeof s.role !== 'string' || typeof s.userId !== 'string')
    throw new ConsoleError('SERVER_REFUSED', 'GET /v1/session: the answer lacks required fields');
  return { role: s.role, userId: s.userId };
}

/**
 * Enrols an officer device into the officer profile `dir` with `code` (for a user with the
 * role officer). Refuses a code of another org or org key, a profile that already has a
 * device, and a user without the officer role (the new device revokes itself then).
 */
export async function enrolOfficerDevice(
  dir: string,
  code: string,
  now = Date.now(),
): Promise<OfficerEnrolment> {
  const profile = readProfileFile<OfficerProfileFile>(join(dir, 'profile.json'), 'custos-officer-profile');
  const file = join(dir, OFFICER_DEVICE_FILE);
  if (exists(file)) {
    throw new ConsoleError(
      'ALREADY_ENROLLED',
      `${file} exists: this profile already has an officer device. To replace it, have an admin revoke it, then remove the file`,
    );
  }
  const m = ENROLMENT_CODE.exec(code.trim());
  if (m === null)
    throw new ConsoleError('INVALID_OPTIONS', 'the enrolment code is malformed: copy the whole ce1.… code');
  if (m[1] !== profile.orgId)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      "the enrolment code is for another organisation than this profile's",
    );
  if (m[2] !== profile.signingKeyFingerprint) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the enrolment code names another org signing key than the profile pins: do not use it, tell the other officers',
    );
  }
  const officerKey = await BucketPublicKey.fromBytes(
    decodeOfficerPublicKey(fromB64u(profile.publicKey)).hpke,
  );
  const api = new CeremonyApi(profile.server);
  const key = CeremonyDeviceKey.generate();
  const r = await api.call('POST', `/v1/orgs/${profile.orgId}/devices`, {
    ...key.enrolmentBody(api.origin),
    enrolmentCode: code.trim(),
  });
  if (typeof r.deviceId !== 'string')
    throw new ConsoleError('SERVER_REFUSED', 'device enrolment: no device id');
  const auth = await key.login(api, profile.orgId, r.deviceId);
  const session = await sessionOf(api, auth);
  if (session.role !== 'officer') {
    // The code was for a user without the officer role: this device must not linger.
    await api.call('POST', `/v1/devices/${r.deviceId}/revoke`, {}, auth).catch(() => undefined);
    throw new ConsoleError(
      'ROLE_MISMATCH',
      `the enrolment code belongs to a user with the role ${session.role}; ask an admin for a code of an officer user ('custos admin invite --role officer'). The device was revoked`,
    );
  }
  const fields = {
    format: FORMAT as typeof FORMAT,
    version: 1 as const,
    orgId: profile.orgId,
    officerIndex: profile.officerIndex,
    userId: session.userId,
    deviceId: r.deviceId,
    enrolledAt: now,
  };
  const secret = key.serialize();
  try {
    const box = await hpkeSeal(officerKey, INFO, aadOf(fields), secret);
    const f: OfficerDeviceFile = { ...fields, enc: b64u(box.enc), ct: b64u(box.ct) };
    writePrivateFile(file, formatProfileFile(f));
  } finally {
    secret.fill(0);
  }
  return {
    orgId: profile.orgId,
    officerIndex: profile.officerIndex,
    userId: session.userId,
    deviceId: r.deviceId,
    file,
  };
}

/** The officer device of profile `dir`, opened with the officer's X25519 key; logs in on demand. */
export class OfficerDevice {
  readonly deviceId: string;
  readonly userId: string;
  #key: CeremonyDeviceKey | undefined;
  #auth: DeviceAuth | undefined;

  private constructor(file: OfficerDeviceFile, key: CeremonyDeviceKey) {
    this.deviceId = file.deviceId;
    this.userId = file.userId;
    this.#key = key;
  }

  /** Opens `dir`'s officer-device.json; NOT_ENROLLED when absent, DECRYPTION_FAILED when not ours. */
  static async open(
    dir: string,
    orgId: string,
    officerIndex: number,
    officerKey: BucketPrivateKey,
  ): Promise<OfficerDevice> {
    const path = join(dir, OFFICER_DEVICE_FILE);
    if (!exists(path)) {
      throw new ConsoleError(
        'NOT_ENROLLED',
        `this officer profile has no officer device: enrol one with 'custos console enroll CODE --profile ${dir}' (an admin issues the code for a user with the role officer)`,
      );
    }
    const f = readProfileFile<OfficerDeviceFile>(path, FORMAT);
    if (
      f.orgId !== orgId ||
      f.officerIndex !== officerIndex ||
      typeof f.deviceId !== 'string' ||
      typeof f.enc !== 'string' ||
      typeof f.ct !== 'string'
    ) {
      throw new ConsoleError('PROFILE_INVALID', `${path} belongs to another org or officer`);
    }
    const { enc, ct, ...fields } = f;
    const secret = await hpkeOpen(officerKey, INFO, aadOf(fields), { enc: fromB64u(enc), ct: fromB64u(ct) });
    try {
      return new OfficerDevice(f, CeremonyDeviceKey.deserialize(secret));
    } finally {
      secret.fill(0);
    }
  }

  /**
   * The binding statement (docs/officers.md §2) by which the officer whose `signingKey` this is
   * (officer `officerIndex`) says this device acts for them; the server keeps it only when it
   * verifies with that officer's key in the org's current officer list.
   */
  bindingStatement(
    orgId: string,
    officerIndex: number,
    signingKey: OrgDocSigner,
    now = Date.now(),
  ): Uint8Array {
    if (this.#key === undefined) throw new ConsoleError('NOT_ENROLLED', 'the officer session is closed');
    const identityKeyHash = createHash('sha256').update(this.#key.publicKey()).digest();
    return sealOfficerDeviceBinding(
      { org: orgId, deviceId: this.deviceId, identityKeyHash, officerIndex, issuedAt: now },
      signingKey,
    );
  }

  /** Bearer credentials, logging in (challenge signature) the first time. */
  async auth(api: CeremonyApi, orgId: string): Promise<DeviceAuth> {
    if (this.#auth !== undefined) return this.#auth;
    if (this.#key === undefined) throw new ConsoleError('NOT_ENROLLED', 'the officer session is closed');
    try {
      this.#auth = await this.#key.login(api, orgId, this.deviceId);
    } catch (e) {
      if (isConsoleError(e) && (e.serverCode === 'DEVICE_REVOKED' || e.serverCode === 'DEVICE_NOT_FOUND')) {
        throw new ConsoleError(
          'NOT_ENROLLED',
          `the officer device ${this.deviceId} is revoked: remove ${OFFICER_DEVICE_FILE} and enrol a new one`,
          { cause: e, serverCode: e.serverCode },
        );
      }
      throw e;
    }
    return this.#auth;
  }

  /** Drops the identity key and token (they die with the process; nothing was written in the clear). */
  close(): void {
    this.#key = undefined;
    this.#auth = undefined;
  }
}
