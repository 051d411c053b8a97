/**
 * Reading an org-signed document the server serves (officer list, root-key statement): CBOR
 * `[payload, signature]`, the signature by the org signing key over `domain ‖ 0x00 ‖ payload`,
 * the payload a deterministic CBOR map. Every failure is SERVER_REFUSED naming the document,
 * so a lying or broken server stops the command with the same words whichever document it was.
 */
import { decodeStrictCbor, decodeStrictCborMap } from '@custos/core';
import { ConsoleError } from './console-error.js';
import { verifyEd25519 } from './signing-key.js';

/** Throws SERVER_REFUSED: "the server's <what> <why>: stop and tell the other officers". */
export function refuseServed(what: string, why: string, cause?: unknown): never {
  throw new ConsoleError('SERVER_REFUSED', `the server's ${what} ${why}: stop and tell the other officers`, {
    cause,
  });
}

/** Verifies a served org-signed document and returns its payload map (see the module comment). */
export function openServedDocument(
  what: string,
  bytes: Uint8Array,
  domain: string,
  signingPublicKey: Uint8Array,
): Record<string, unknown> {
  let outer: unknown;
  try {
    outer = decodeStrictCbor(bytes, what, 'MALFORMED_INPUT');
  } catch (e) {
    refuseServed(what, 'is not valid CBOR', e);
  }
  if (!Array.isArray(outer) || outer.length !== 2) refuseServed(what, 'is not [payload, signature]');
  const [payload, sig] = outer as unknown[];
  if (!(payload instanceof Uint8Array) || !(sig instanceof Uint8Array))
    refuseServed(what, 'is not [payload, signature]');
  const signed = Buffer.concat([Buffer.from(domain, 'ascii'), Buffer.of(0), payload]);
  if (!verifyEd25519(signingPublicKey, signed, sig))
    refuseServed(what, 'does not verify with the org signing key');
  try {
    return decodeStrictCborMap(payload, `${what} payload`, 'MALFORMED_INPUT');
  } catch (e) {
    return refuseServed(what, 'payload is not a deterministic CBOR map', e);
  }
}
