/**
 * Where the witness reads a log: the server's public log routes (docs/api.md, no token).
 * Every answer is checked field by field; proof hashes are base64url, 32 bytes each.
 */
import { MAX_PROOF_HASHES } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { CeremonyApi } from '../ceremony-api.js';

/** What GET /v1/orgs/:orgId/log returns. */
export interface LogHead {
  readonly origin: string;
  readonly verifierKey: string;
  readonly checkpoint: string;
}

/** A log the witness can read. */
export interface LogSource {
  /** The origin, verifier key and latest signed checkpoint. */
  log(): Promise<LogHead>;
  /** RFC 9162 consistency proof from `from` to `to` entries. */
  consistency(from: number, to: number): Promise<Uint8Array[]>;
}

/** Hash length of a proof element. */
const HASH_BYTES = 32;

/** A {@link LogSource} over a Custos server's public routes. */
export function httpLogSource(serverUrl: string, orgId: string): LogSource {
  // The console's one JSON client: timeouts, unreachable vs refused, the server's error code.
  return apiLogSource(new CeremonyApi(serverUrl), orgId);
}

/** A {@link LogSource} over the public log routes through `api` (an officer session's client). */
export function apiLogSource(api: Pick<CeremonyApi, 'call'>, orgId: string): LogSource {
  const base = `/v1/orgs/${encodeURIComponent(orgId)}/log`;
  return {
    async log() {
      const r = await api.call('GET', base);
      if (
        typeof r.origin !== 'string' ||
        typeof r.verifierKey !== 'string' ||
        typeof r.checkpoint !== 'string'
      )
        throw new ConsoleError('LOG_INVALID', 'the log head lacks origin, verifierKey or checkpoint');
      return { origin: r.origin, verifierKey: r.verifierKey, checkpoint: r.checkpoint };
    },
    async consistency(from, to) {
      const r = await api.call('GET', `${base}/proof/consistency?from=${from}&to=${to}`);
      if (r.from !== from || r.to !== to || !Array.isArray(r.proof) || r.proof.length > MAX_PROOF_HASHES)
        throw new ConsoleError('LOG_INVALID', `the consistency proof from ${from} to ${to} is malformed`);
      return r.proof.map((h, i) => {
        const bytes =
          typeof h === 'string' && /^[A-Za-z0-9_-]{43}$/.test(h) ? Buffer.from(h, 'base64url') : undefined;
        if (bytes?.length !== HASH_BYTES)
          throw new ConsoleError(
            'LOG_INVALID',
            `consistency proof hash ${i} is not a base64url SHA-256 hash`,
          );
        return new Uint8Array(bytes);
      });
    },
  };
}
