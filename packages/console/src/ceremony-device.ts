/**
 * The transient ceremony device (docs/ceremony.md §6). Registering bucket keys needs an
 * authenticated admin or officer device, and POST /v1/orgs registers none, so the ceremony
 * enrols one device for the first admin with the code the server returned, uses it to
 * register the bucket documents and to issue a fresh enrolment code for the admin profile,
 * then revokes it and wipes its key. It registers only public keys (libsignal identity and
 * prekeys, never used for messaging).
 */
import { randomInt } from 'node:crypto';
import { KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { b64u, type CeremonyApi, type DeviceAuth } from './ceremony-api.js';
import { ConsoleError } from './console-error.js';

/** Label of the signed auth message (server auth/challenge-message.ts). */
const AUTH_SIGNATURE_DOMAIN = 'Custos device authentication v1';
/** libsignal registration ids are 1..16380. */
const MAX_REGISTRATION_ID = 16380;

/** A copy on a fresh ArrayBuffer, as libsignal wants. */
const own = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

/** The identity key of the ceremony device. */
export class CeremonyDeviceKey {
  readonly #key: PrivateKey;

  private constructor(key: PrivateKey) {
    this.#key = key;
  }

  /** A fresh identity key. */
  static generate(): CeremonyDeviceKey {
    return new CeremonyDeviceKey(PrivateKey.generate());
  }

  /** Restores the key written to staging by {@link CeremonyDeviceKey.serialize}. */
  static deserialize(bytes: Uint8Array): CeremonyDeviceKey {
    return new CeremonyDeviceKey(PrivateKey.deserialize(own(bytes)));
  }

  /** The identity public key as the device registered it (libsignal serialisation, 33 bytes). */
  publicKey(): Uint8Array {
    return this.#key.getPublicKey().serialize();
  }

  /** The private key bytes, for the 0600 staging file only (wiped at the end). MUST NOT log. */
  serialize(): Uint8Array {
    return this.#key.serialize();
  }

  /**
   * The POST /v1/orgs/:orgId/devices body (without the code) for a device that reached the
   * server at `origin`: identity, signed and Kyber prekeys, and that origin — the device signs
   * it into every login, so a server with another --origin refuses the enrolment before the
   * one-time code is spent (for the ceremony, the first admin's only one) instead of after.
   */
  enrolmentBody(origin: string): Record<string, unknown> {
    const signed = PrivateKey.generate().getPublicKey().serialize();
    const kyber = KEMKeyPair.generate().getPublicKey().serialize();
    return {
      identityKey: b64u(this.#key.getPublicKey().serialize()),
      origin,
      registrationId: randomInt(1, MAX_REGISTRATION_ID + 1),
      signedPreKey: { keyId: 1, publicKey: b64u(signed), signature: b64u(this.#key.sign(signed)) },
      lastResortKyberPreKey: { keyId: 1, publicKey: b64u(kyber), signature: b64u(this.#key.sign(kyber)) },
      kyberPreKeys: [],
      oneTimePreKeys: [],
    };
  }

  /** Signs a fresh server challenge and returns a bearer token for the device. */
  async login(api: CeremonyApi, orgId: string, deviceId: string): Promise<DeviceAuth> {
    const c = await api.call('POST', '/v1/auth/challenge', { orgId, deviceId });
    const { challengeId, challenge, origin } = c;
    if (typeof challengeId !== 'string' || typeof challenge !== 'string' || typeof origin !== 'string') {
      throw new ConsoleError('SERVER_REFUSED', 'POST /v1/auth/challenge: the answer lacks required fields');
    }
    // Sign only the origin this console reached, as devices do (client api-client.ts): a
    // phishing server relaying the real server's challenge names the real origin, and a
    // signature over it would log the relay in as this (officer or ceremony) device.
    const reached = api.origin;
    if (origin !== reached) {
      throw new ConsoleError(
        'SERVER_REFUSED',
        `the server asks for a signature over origin ${origin}, but this console reached ${reached}: use the server's own URL (its --origin), or tell the operator`,
      );
    }
    const message = Buffer.from(
      [AUTH_SIGNATURE_DOMAIN, origin, orgId, deviceId, challenge].join('\n'),
      'utf8',
    );
    const signature = b64u(this.#key.sign(own(message)));
    const t = await api.call('POST', '/v1/auth/token', { orgId, deviceId, challengeId, signature });
    if (typeof t.token !== 'string')
      throw new ConsoleError('SERVER_REFUSED', 'POST /v1/auth/token: no token');
    return { deviceId, token: t.token };
  }
}
