/**
 * The message a device signs with its identity key to get a token. Domain-separated and
 * bound to the server origin, the org, the device and the challenge, so a signature made
 * for one server, org or device is worthless for another (a phishing server relaying a
 * challenge gets a signature over its own origin). No field can contain a newline.
 */
import type { DeviceId, OrgId } from '../ids.js';

/** Domain-separation label, first line of the signed message. */
export const AUTH_SIGNATURE_DOMAIN = 'Custos device authentication v1';

/** The fields a device authenticates. */
export interface AuthChallengeFields {
  /** Server origin as the device reached it, e.g. `https://custos.example.org`. */
  readonly origin: string;
  readonly orgId: OrgId;
  readonly deviceId: DeviceId;
  /** The challenge as unpadded base64url, exactly as the server sent it. */
  readonly challenge: string;
}

/** The exact bytes signed: the five fields joined by `\n`, UTF-8. */
export function authChallengeMessage(f: AuthChallengeFields): Buffer {
  return Buffer.from([AUTH_SIGNATURE_DOMAIN, f.origin, f.orgId, f.deviceId, f.challenge].join('\n'), 'utf8');
}
