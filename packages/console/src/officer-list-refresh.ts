/**
 * Keeping an officer's org.json current after `custos org officers add|remove` run by another
 * officer (docs/officers.md §5): the server serves the last officer list a quorum signed with
 * the org signing key; every officer command verifies it against the pinned org key and adopts
 * it when it is newer than the one the profile holds — as devices adopt a re-issued delegation.
 *
 * Invariants: only a list that verifies with the org signing key whose fingerprint the profile
 * pins, names this org and was issued later than the profile's own list is written; org.json
 * is rewritten whole (temporary file, rename). A served list older than the profile's is a
 * rollback and stops the command: the server only ever keeps the newest.
 */
import { join } from 'node:path';
import { openOfficerList } from '@custos/core';
import { ConsoleError } from './console-error.js';
import { keepCeremonyList } from './officer-list-history.js';
import { writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, readProfileFile, type OrgFile } from './profile-files.js';
import { readServedDocument, refuseServed } from './served-document.js';
import { keyFingerprint } from './signing-key.js';

type Json = Record<string, unknown>;

/** A verified officer list. */
export interface SignedOfficerList {
  readonly orgId: string;
  readonly quorum: number;
  readonly officers: readonly { readonly index: number; readonly publicKey: string }[];
  /** The list's issue time (ms): each change is later than the last. */
  readonly issuedAt: number;
}

/** What a refresh did: null when the profile was current. */
export interface AdoptedOfficerList {
  readonly list: SignedOfficerList;
  /** The org.json now in the profile. */
  readonly org: OrgFile;
  readonly added: readonly number[];
  readonly removed: readonly number[];
}

const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');

function refuse(why: string): never {
  return refuseServed('officer list', why);
}

/** Verifies a served officer list (core's format) with the raw org signing key; SERVER_REFUSED naming what is wrong. */
export function openSignedOfficerList(bytes: Uint8Array, signingPublicKey: Uint8Array): SignedOfficerList {
  const l = readServedDocument('officer list', () => openOfficerList(bytes, signingPublicKey));
  const officers = l.officers.map((o) => ({ index: o.index, publicKey: b64u(o.publicKey) }));
  return { orgId: l.org, quorum: l.quorum, officers, issuedAt: l.issuedAt };
}

/**
 * Fetches the org's public material and adopts a newer signed officer list into the profile's
 * org.json (`dir`); resolves to what changed, or null when the profile was current. `inLog`,
 * when given, checks the served list's bytes (null: none served) against the org's log
 * (officer-list-freshness.ts) before anything is adopted; it throws to stop the command.
 */
export async function refreshOfficerList(
  dir: string,
  org: OrgFile,
  pinnedFingerprint: string,
  call: (method: 'GET', path: string) => Promise<Json>,
  inLog?: (served: Uint8Array | null) => Promise<unknown>,
): Promise<AdoptedOfficerList | null> {
  const r = await call('GET', `/v1/orgs/${org.orgId}`);
  if (typeof r.officerList !== 'string') {
    await inLog?.(null);
    return null;
  }
  if (typeof r.signingPublicKey !== 'string') refuse('comes without the org signing key');
  const signing = fromB64u(r.signingPublicKey);
  if (keyFingerprint(signing) !== pinnedFingerprint) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the server presents another org signing key than this profile pins: stop, the server is not trustworthy',
    );
  }
  const served = fromB64u(r.officerList);
  const list = openSignedOfficerList(served, signing);
  if (list.orgId !== org.orgId) refuse('names another organisation');
  const local = org.officerListIssuedAt ?? 0;
  if (list.issuedAt < local) refuse('is older than the one this profile adopted (a rollback)');
  await inLog?.(served);
  if (list.issuedAt === local) return null;
  const path = join(dir, 'org.json');
  const current = readProfileFile<OrgFile>(path, 'custos-org');
  const next: OrgFile = {
    ...keepCeremonyList(current),
    officerQuorum: list.quorum,
    officers: list.officers,
    officerListIssuedAt: list.issuedAt,
  };
  writePrivateFile(path, formatProfileFile(next));
  const before = new Set(org.officers.map((o) => `${o.index}:${o.publicKey}`));
  const after = new Set(list.officers.map((o) => `${o.index}:${o.publicKey}`));
  return {
    list,
    org: next,
    added: list.officers.filter((o) => !before.has(`${o.index}:${o.publicKey}`)).map((o) => o.index),
    removed: org.officers.filter((o) => !after.has(`${o.index}:${o.publicKey}`)).map((o) => o.index),
  };
}
