/**
 * Changing the org's officers (docs/officers.md §5, `custos org officers add|remove`): a quorum
 * recovers the org signing key and signs the complete new officer list. The server replaces
 * its officer keys and quorum only with a list that verifies with the org signing key, names
 * this org, is newer than the last list and was issued about now; users the list names under
 * `usr` lose the role officer (a removed officer's devices can no longer call officer routes).
 * The change is an `officers.change` audit act (and a `user.role` act per demoted user) in the
 * same transaction.
 *
 * Document: deterministic CBOR `[payload, sig]`, sig = Ed25519(org signing key,
 * "custos-officer-list-v1" ‖ 0x00 ‖ payload), payload exactly
 * `{ v: 1, typ: "officer-list", org, m, off: [{ i, pk }…], usr: [user id…], iat }`.
 */
import { createHash, sign as edSign, type KeyObject } from 'node:crypto';
import { encodeDeterministicCbor } from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { OfficerKey } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { ed25519PublicKey, KeyDocumentError, openSigned, signedBytes } from './key-documents.js';

/** Domain of officer-list signatures. */
export const OFFICER_LIST_DOMAIN = 'custos-officer-list-v1';
/** How far a list's issue time may lie from the server's clock. */
export const OFFICER_LIST_SKEW_MS = 10 * 60_000;
/** Most officers (indexes 0–99, as the officer-wrap route accepts). */
export const MAX_OFFICERS = 100;
/** Smallest and largest officer public key document (as at org creation). */
const MIN_OFFICER_KEY_BYTES = 32;
const MAX_OFFICER_KEY_BYTES = 2048;

/** A verified officer list. */
export interface OfficerList {
  readonly org: string;
  readonly quorum: number;
  readonly officers: readonly { readonly index: number; readonly publicKey: Uint8Array }[];
  /** Users whose role officer is withdrawn with this change. */
  readonly demote: readonly string[];
  readonly issuedAt: number;
}

const bad = (why: string): KeyDocumentError => new KeyDocumentError(`officer list: ${why}`);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Verifies an officer list with the raw org signing key and checks its shape. Throws KeyDocumentError. */
export function openOfficerList(bytes: Uint8Array, orgSigningKey: Uint8Array): OfficerList {
  const m = openSigned('officer list', bytes, OFFICER_LIST_DOMAIN, ed25519PublicKey(orgSigningKey));
  if (Object.keys(m).sort().join() !== 'iat,m,off,org,typ,usr,v')
    throw bad('fields must be exactly v, typ, org, m, off, usr, iat');
  if (m.v !== 1 || m.typ !== 'officer-list') throw bad('not a v1 officer list');
  if (typeof m.org !== 'string' || !isUint(m.iat) || !isUint(m.m)) throw bad('org, m or iat malformed');
  if (!Array.isArray(m.off) || m.off.length === 0 || m.off.length > MAX_OFFICERS)
    throw bad(`off must list 1 to ${MAX_OFFICERS} officers`);
  const officers = m.off.map((o: unknown) => {
    const e = o as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || Object.keys(e).sort().join() !== 'i,pk')
      throw bad('off entries are { i, pk }');
    if (!isUint(e.i) || e.i >= MAX_OFFICERS) throw bad(`officer index must be 0 to ${MAX_OFFICERS - 1}`);
    if (
      !(e.pk instanceof Uint8Array) ||
      e.pk.length < MIN_OFFICER_KEY_BYTES ||
      e.pk.length > MAX_OFFICER_KEY_BYTES
    )
      throw bad('officer public key malformed');
    return { index: e.i, publicKey: e.pk };
  });
  if (new Set(officers.map((o) => o.index)).size !== officers.length) throw bad('officer indexes repeat');
  if (m.m < 1 || m.m > officers.length) throw bad('m must be from 1 to the number of officers');
  if (!Array.isArray(m.usr) || m.usr.some((u) => typeof u !== 'string') || m.usr.length > MAX_OFFICERS)
    throw bad('usr must be a list of user ids');
  return { org: m.org, quorum: m.m, officers, demote: m.usr as string[], issuedAt: m.iat };
}

/** Signs an officer list (tests; the console signs its own with the recovered org key). */
export function sealOfficerList(list: OfficerList, orgSigningKey: KeyObject): Uint8Array {
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'officer-list',
    org: list.org,
    m: list.quorum,
    off: list.officers.map((o) => ({ i: o.index, pk: o.publicKey })),
    usr: [...list.demote],
    iat: list.issuedAt,
  });
  return encodeDeterministicCbor([
    payload,
    edSign(null, signedBytes(OFFICER_LIST_DOMAIN, payload), orgSigningKey),
  ]);
}

/** The officers and quorum after a change, and whether this call changed anything. */
export interface OfficersChanged {
  readonly officers: readonly OfficerKey[];
  readonly quorum: number;
  readonly changed: boolean;
  readonly demoted: readonly string[];
}

/** Verifies `document` and installs it as the org's officer list; the last list again is idempotent. */
export async function changeOfficers(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  actor: DeviceId,
  document: Uint8Array,
  now: number,
): Promise<OfficersChanged> {
  return stores.withTransaction(async (tx) => {
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const last = await tx.orgs.lastOfficerListChange(orgId);
    if (last !== undefined && Buffer.compare(last.document, Buffer.from(document)) === 0)
      return { officers: org.officers, quorum: org.officerQuorum, changed: false, demoted: [] };
    let list: OfficerList;
    try {
      list = openOfficerList(document, org.signingPublicKey);
    } catch (e) {
      const why = e instanceof KeyDocumentError ? e.message : 'does not verify';
      throw new ServerError('OFFICER_LIST_INVALID', `body.document: ${why}`, { cause: e });
    }
    const invalid = (why: string) => new ServerError('OFFICER_LIST_INVALID', `body.document: ${why}`);
    if (list.org !== orgId) throw invalid('names another organisation');
    if (Math.abs(list.issuedAt - now) > OFFICER_LIST_SKEW_MS)
      throw invalid(
        `must be issued now (within ${OFFICER_LIST_SKEW_MS / 60_000} minutes of the server's clock)`,
      );
    if (list.issuedAt <= (last?.issuedAt ?? org.createdAt))
      throw invalid('is not newer than the current officer list');
    const demoted: string[] = [];
    for (const userId of list.demote) {
      const user = await tx.users.get(orgId, userId as UserId);
      if (user === undefined)
        throw new ServerError('USER_NOT_FOUND', `body.document: usr names no user: ${userId}`);
      if (user.role !== 'officer') throw invalid(`usr: user ${userId} is not an officer`);
      await tx.users.setRole(orgId, userId as UserId, 'member');
      await audit.record(tx, orgId, {
        kind: 'user.role',
        actorDeviceId: actor,
        subject: userId,
        detail: 'member',
        at: now,
      });
      demoted.push(userId);
    }
    const officers = list.officers.map((o) => ({ index: o.index, publicKey: Buffer.from(o.publicKey) }));
    await tx.orgs.replaceOfficers(orgId, officers, list.quorum, {
      seq: (last?.seq ?? 0) + 1,
      document: Buffer.from(document),
      issuedAt: list.issuedAt,
      changedBy: actor,
      changedAt: now,
    });
    const before = new Set(org.officers.map((o) => o.index));
    const after = new Set(officers.map((o) => o.index));
    const added = [...after].filter((i) => !before.has(i));
    const removed = [...before].filter((i) => !after.has(i));
    await audit.record(tx, orgId, {
      kind: 'officers.change',
      actorDeviceId: actor,
      subject: 'officers',
      detail:
        `n=${officers.length} m=${list.quorum} added=${added.join(',') || '-'} removed=${removed.join(',') || '-'} ` +
        `list-sha256=${createHash('sha256').update(document).digest('hex')}`,
      at: now,
    });
    return { officers, quorum: list.quorum, changed: true, demoted };
  });
}
