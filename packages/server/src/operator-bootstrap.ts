/**
 * `custos server bootstrap-token`: the operator issues one more one-time bootstrap token so
 * that a further organisation can be created on this install. It runs on the server machine
 * against the same store as the running server (SQLite in WAL mode admits a second process;
 * PostgreSQL is shared anyway). The token is stored only as its SHA-256 and expires unused
 * after OPERATOR_BOOTSTRAP_TOKEN_TTL_MS.
 */
import { existsSync } from 'node:fs';
import { OPERATOR_BOOTSTRAP_TOKEN_TTL_MS } from './config/defaults.js';
import { ConfigError } from './config/config-error.js';
import type { StoreConfig } from './config/load-config.js';
import { newBootstrapToken, sha256 } from './crypto/secrets.js';
import { openStore } from './store/open-store.js';
import type { Stores } from './store/stores.js';

/** A freshly issued token. MUST be shown to the operator once and never logged. */
export interface IssuedBootstrapToken {
  readonly token: string;
  readonly expiresAt: number;
  /** Unused, unexpired tokens now, this one included. */
  readonly outstanding: number;
}

/** Issues a token valid for `ttlMs` from `now` in `stores`. */
export async function issueBootstrapToken(
  stores: Stores,
  now: number,
  ttlMs: number = OPERATOR_BOOTSTRAP_TOKEN_TTL_MS,
): Promise<IssuedBootstrapToken> {
  const token = newBootstrapToken();
  const expiresAt = now + ttlMs;
  return stores.withTransaction(async (tx) => {
    await tx.bootstrap.issue(sha256(token), now, expiresAt);
    return { token, expiresAt, outstanding: await tx.bootstrap.countOutstanding(now) };
  });
}

/**
 * Opens the configured store (refusing a SQLite data folder that holds no database: the
 * server creates it on first start), issues a token, and closes the store.
 */
export async function issueBootstrapTokenIn(store: StoreConfig, now: number): Promise<IssuedBootstrapToken> {
  if (store.kind === 'sqlite' && !existsSync(store.path)) {
    throw new ConfigError(
      'data',
      `no Custos database at ${store.path}: start the server on this data folder first (or pass --store for PostgreSQL)`,
    );
  }
  const stores = await openStore(store);
  try {
    return await issueBootstrapToken(stores, now);
  } finally {
    await stores.close();
  }
}

/** What the command prints for the operator (never to a log). */
export function issuedTokenText(issued: IssuedBootstrapToken, out: string | null): string {
  const when = new Date(issued.expiresAt).toISOString();
  return [
    out === null ? `Bootstrap token: ${issued.token}` : `Bootstrap token written to ${out} (mode 0600)`,
    `It creates one organisation and expires unused at ${when}.`,
    `Outstanding unused tokens on this install: ${issued.outstanding}.`,
    '',
    'Next: the new organisation runs its key ceremony on an officer machine:',
    `  custos org create --server URL --bootstrap-token-file ${out ?? 'FILE'} \\`,
    '    --name NAME --officers N --threshold M --out DIR',
    ...(out === null
      ? ['  (FILE: save the token above in a file of mode 0600 first, or run this with --out FILE)']
      : []),
    '',
  ].join('\n');
}
