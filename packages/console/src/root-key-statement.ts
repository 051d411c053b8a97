/**
 * The root-archive-key statement (docs/keys.md §6): the org signing key names the org's new
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
import { encodeDeterministicCbor } from '@custos/core';
import { ConsoleError } from './console-error.js';
import { writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, readProfileFile, type OrgFile } from './profile-files.js';
import { openServedDocument, refuseServed } from './served-document.js';
import { keyFingerprint, type SigningKey } from './signing-key.js';

/** Domain of root-archive-key statements (the server checks the same: keys/root-key-rotation.ts). */
export const ROOT_KEY_DOMAIN = 'custos-root-archive-key-v1';

/** A root-archive-key statement's content. */
export interface RootKeyStatement {
  readonly org: string;
  /** The new root archive public key (raw X25519). */
  readonly publicKey: Uint8Array;
  /** The root archive public key it replaces. */
  readonly previous: Uint8Array;
  readonly issuedAt: number;
}

type Json = Record<string, unknown>;
const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isKey = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;

function refuse(why: string): never {
  return refuseServed('root key statement', why);
}

/** Signs a statement with the recovered org signing key. */
export function sealRootKeyStatement(s: RootKeyStatement, key: SigningKey): Uint8Array {
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'root-archive-key',
    org: s.org,
    pk: s.publicKey,
    prv: s.previous,
    iat: s.issuedAt,
  });
  const signed = Buffer.concat([Buffer.from(ROOT_KEY_DOMAIN, 'ascii'), Buffer.of(0), payload]);
  return encodeDeterministicCbor([payload, key.sign(signed)]);
}

/** Verifies a statement with the raw org signing key; SERVER_REFUSED naming what is wrong. */
export function openRootKeyStatement(bytes: Uint8Array, signingPublicKey: Uint8Array): RootKeyStatement {
  const m = openServedDocument('root key statement', bytes, ROOT_KEY_DOMAIN, signingPublicKey);
  if (m.v !== 1 || m.typ !== 'root-archive-key' || typeof m.org !== 'string' || !isUint(m.iat))
    refuse('is not a v1 root-archive-key statement');
  if (!isKey(m.pk) || !isKey(m.prv)) refuse('has malformed keys');
  return { org: m.org, publicKey: m.pk, previous: m.prv, issuedAt: m.iat };
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
  const s = openRootKeyStatement(fromB64u(r.rootKeyStatement), signing);
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
