/**
 * Adopting the root-archive-key statement (docs/keys.md §6; the format is core's
 * org-docs/root-key-statement.ts): the org signing key names the org's new
 * root archive public key and the one it replaces. The server keeps the last one and serves it
 * in `GET /v1/orgs/:orgId` (`rootKeyStatement`); every officer command verifies it against the
 * pinned org key and adopts it into org.json when it was issued later than the one the profile
 * holds, so new buckets are wrapped to the current root — as officers adopt a newer officer
 * list (officer-list-refresh.ts).
 *
 * Invariants: only a statement that verifies with the pinned org key, names this org and was
 * issued later than the profile's is adopted; an older one is a rollback and stops the command.
 */
import { join } from 'node:path';
import { openRootKeyStatement, type RootKeyStatement } from '@custos/core';
import { ConsoleError } from './console-error.js';
import { writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, readProfileFile, type OrgFile } from './profile-files.js';
import { readServedDocument, refuseServed } from './served-document.js';
import { keyFingerprint } from './signing-key.js';

type Json = Record<string, unknown>;
const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');

function refuse(why: string): never {
  return refuseServed('root key statement', why);
}

/**
 * Fetches the org's public material and adopts a newer root-archive-key statement into the
 * profile's org.json (`dir`); resolves to the adopted statement, or null when the profile was current.
 */
export async function refreshRootKey(
  dir: string,
  org: OrgFile,
  pinnedFingerprint: string,
  call: (method: 'GET', path: string) => Promise<Json>,
): Promise<{ statement: RootKeyStatement; org: OrgFile } | null> {
  const r = await call('GET', `/v1/orgs/${org.orgId}`);
  if (typeof r.rootKeyStatement !== 'string') return null;
  if (typeof r.signingPublicKey !== 'string') refuse('comes without the org signing key');
  const signing = fromB64u(r.signingPublicKey);
  if (keyFingerprint(signing) !== pinnedFingerprint) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the server presents another org signing key than this profile pins: stop, the server is not trustworthy',
    );
  }
  const served = fromB64u(r.rootKeyStatement);
  const s = readServedDocument('root key statement', () => openRootKeyStatement(served, signing));
  if (s.org !== org.orgId) refuse('names another organisation');
  const local = org.rootKeyIssuedAt ?? 0;
  if (s.issuedAt < local) refuse('is older than the one this profile adopted (a rollback)');
  if (s.issuedAt === local) return null;
  const path = join(dir, 'org.json');
  const current = readProfileFile<OrgFile>(path, 'custos-org');
  const next: OrgFile = {
    ...current,
    rootArchivePublicKey: b64u(s.publicKey),
    rootArchiveKeyFingerprint: keyFingerprint(s.publicKey),
    rootKeyIssuedAt: s.issuedAt,
  };
  writePrivateFile(path, formatProfileFile(next));
  return { statement: s, org: next };
}
