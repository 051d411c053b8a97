/**
 * Where the witness reads a log: the server's public log routes (docs/api.md, no token).
 * Every answer is checked field by field; proof hashes are base64url, 32 bytes each.
 */
import { MAX_PROOF_HASHES } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { REQUEST_TIMEOUT_MS } from '../ceremony-api.js';

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
  const base = `${serverUrl.replace(/\/+$/, '')}/v1/orgs/${encodeURIComponent(orgId)}/log`;
  return {
    async log() {
      const r = await getJson(base, 'the log head');
      if (
        typeof r.origin !== 'string' ||
        typeof r.verifierKey !== 'string' ||
        typeof r.checkpoint !== 'string'
      )
        throw new ConsoleError('LOG_INVALID', 'the log head lacks origin, verifierKey or checkpoint');
      return { origin: r.origin, verifierKey: r.verifierKey, checkpoint: r.checkpoint };
    },
    async consistency(from, to) {
      const r = await getJson(`${base}/proof/consistency?from=${from}&to=${to}`, 'a consistency proof');
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

async function getJson(url: string, what: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw new ConsoleError(
      'SERVER_UNREACHABLE',
      `cannot reach the server for ${what} (${new URL(url).origin})`,
      {
        cause: e,
      },
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (e) {
    throw new ConsoleError('SERVER_REFUSED', `${what}: the server answered ${res.status} without JSON`, {
      cause: e,
    });
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
    const message = typeof err?.message === 'string' ? err.message : 'no message';
    throw new ConsoleError('SERVER_REFUSED', `${what}: ${code}: ${message}`, { serverCode: code });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ConsoleError('LOG_INVALID', `${what}: the answer is not a JSON object`);
  return body as Record<string, unknown>;
}
