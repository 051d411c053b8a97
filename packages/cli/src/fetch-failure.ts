/**
 * Why a request got no answer. A failed request (@custos/client's http-fetch.ts, or Node's
 * fetch) rejects with a bare TypeError and keeps the reason in `cause`; the commands wrap that again (ClientError NETWORK, ConsoleError
 * SERVER_UNREACHABLE). Without the reason, a server that runs but presents a certificate this
 * machine does not trust reads as "the server did not answer", and the advice to start it
 * misleads. Shared by every command's failure line and by `custos doctor`.
 */

/** TLS verification failures, as Node's TLS reports them in `cause.code`. */
export const UNTRUSTED_CERTIFICATE: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What to do about an untrusted certificate, on the machine that connects. */
export const UNTRUSTED_CERTIFICATE_FIX =
  'use a certificate from a CA this machine trusts, for the name in the server URL (a private CA or a self-signed certificate: NODE_EXTRA_CA_CERTS=ca.pem, on every machine that connects)';

/** How deep to follow `cause` links (wrapper, the request's TypeError, the socket error). */
const MAX_CAUSE_DEPTH = 4;

/** The reason a fetch failed: node's code when it gave one, else its message. */
export interface FetchFailure {
  /** e.g. ECONNREFUSED, ENOTFOUND, DEPTH_ZERO_SELF_SIGNED_CERT. */
  readonly code: string | undefined;
  /** The server was reached but its certificate does not verify here. */
  readonly untrustedCertificate: boolean;
  /**
   * One short phrase: the code, the innermost cause's message, or that the request timed
   * out; undefined when `e` has no cause to add.
   */
  readonly reason: string | undefined;
}

/**
 * Reads the reason out of `e`, the rejection of a request (or an error whose `cause` chain
 * leads to it). Only codes and messages of node's own errors are read: they name hosts and
 * ports at most, never headers or bodies.
 */
export function fetchFailure(e: unknown): FetchFailure {
  let innermost: unknown;
  for (let cur: unknown = e, depth = 0; depth <= MAX_CAUSE_DEPTH && cur instanceof Error; depth++) {
    if (cur.name === 'TimeoutError' || cur.name === 'AbortError')
      return { code: undefined, untrustedCertificate: false, reason: 'no answer before the timeout' };
    const code = (cur as { code?: unknown }).code;
    // The outermost code is the wrapper's own (NETWORK, SERVER_UNREACHABLE), or the request's
    // TypeError has none: the reason is further in.
    if (typeof code === 'string' && depth > 0)
      return { code, untrustedCertificate: UNTRUSTED_CERTIFICATE.has(code), reason: code };
    if (depth > 0) innermost = cur;
    cur = cur.cause;
  }
  return {
    code: undefined,
    untrustedCertificate: false,
    reason: innermost instanceof Error ? innermost.message : undefined,
  };
}
