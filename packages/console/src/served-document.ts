/**
 * Reading an org-signed document the server serves (officer list, root-key statement): the
 * format and its checks are core's (org-docs/); here every failure becomes SERVER_REFUSED
 * naming the document, so a lying or broken server stops the command with the same words
 * whichever document it was.
 */
import { isCustosError } from '@custos/core';
import { ConsoleError } from './console-error.js';

/** Throws SERVER_REFUSED: "the server's <what> <why>: stop and tell the other officers". */
export function refuseServed(what: string, why: string, cause?: unknown): never {
  throw new ConsoleError('SERVER_REFUSED', `the server's ${what} ${why}: stop and tell the other officers`, {
    cause,
  });
}

/**
 * Runs core's reader of a served document; a signature that does not verify, or a malformed
 * document (core's message says what is wrong), is SERVER_REFUSED naming `what`.
 */
export function readServedDocument<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isCustosError(e, 'SIGNATURE_INVALID'))
      refuseServed(what, 'does not verify with the org signing key', e);
    if (isCustosError(e)) refuseServed(what, `is malformed (${e.message})`, e);
    throw e;
  }
}
