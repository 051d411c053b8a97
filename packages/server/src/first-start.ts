/**
 * First start: while no organisation exists, each start creates a fresh one-time bootstrap
 * token (replacing any earlier, never used one, whose plaintext is gone), stores only its
 * SHA-256, and prints it — or, when asked, writes it to a file of mode 0600 instead: a
 * service's standard output ends up in a journal that others read, so a token sent to a file
 * is not printed as well (as `custos server bootstrap-token --out`).
 */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { newBootstrapToken, sha256 } from './crypto/secrets.js';
import type { Stores } from './store/stores.js';

/** What first start decided. */
export type BootstrapOutcome =
  { readonly kind: 'token'; readonly token: string } | { readonly kind: 'has-org' };

/** Creates the bootstrap token if the store has no organisation yet. */
export async function ensureBootstrapToken(stores: Stores, now: number): Promise<BootstrapOutcome> {
  return stores.withTransaction(async (tx) => {
    if ((await tx.orgs.count()) > 0) return { kind: 'has-org' };
    const token = newBootstrapToken();
    if (!(await tx.bootstrap.replace(sha256(token), now))) return { kind: 'has-org' };
    return { kind: 'token', token };
  });
}

/** Writes the token to `path` with mode 0600 (also tightening an existing file). */
export function writeBootstrapFile(path: string, token: string): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    // An existing file keeps its mode on open: tighten it before the secret goes in.
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The ceremony command the start text suggests: complete, so it runs as printed once the
 * organisation's name and officer numbers are filled in (`--name`, `--officers`, `--threshold`
 * and `--out` are all required).
 */
export function orgCreateCommand(origin: string, tokenFile: string): string {
  return [
    `  custos org create --server ${origin} --bootstrap-token-file ${tokenFile} \\`,
    '    --name "Example Agency" --officers 3 --threshold 2 --out ./org',
  ].join('\n');
}

/**
 * The text printed on first start. MUST go to the operator's terminal only, never to the log.
 * `dataDir` is the SQLite data folder (null on PostgreSQL), named in the bootstrap-token hint.
 */
export function firstStartText(
  token: string,
  origin: string,
  bootstrapOut: string | null,
  dataDir: string | null = null,
): string {
  const file = bootstrapOut ?? 'FILE';
  return [
    bootstrapOut === null
      ? `Bootstrap token: ${token}`
      : `Bootstrap token written to ${bootstrapOut} (mode 0600; not printed: it is a root password until used)`,
    '',
    'Next: create the organisation from an officer machine (the key ceremony runs there, not here), e.g.:',
    orgCreateCommand(origin, file),
    ...(bootstrapOut === null
      ? [
          '  (FILE: save the token above in a file of mode 0600 first, or start the server with --bootstrap-out FILE)',
        ]
      : []),
    'The token works once. Until an organisation exists, every restart prints a new one and the old one stops working.',
    'For each further organisation, issue a token on this machine:',
    `  custos server bootstrap-token ${dataDir === null ? '--store URL' : `--data ${dataDir}`}`,
    '',
  ]
    .filter((line, i, all) => line !== '' || all[i - 1] !== '')
    .join('\n');
}
