/**
 * Test support: an org's audit listing (`GET …/audit`) holding `device.register` acts, as
 * the server serves it — real key-event entries, act documents whose SHA-256 they commit
 * to, RFC 6962 inclusion proofs and a checkpoint signed by the given log key — optionally
 * after other entries of the same log, and the consistency proofs of that log, so that a
 * fake server shows one append-only log, as the console's checks require.
 */
import { createHash } from 'node:crypto';
import {
  encodeActDocument,
  encodeLogEntry,
  hashChildren,
  hashLeaf,
  parseSignerKey,
  signCheckpoint,
} from '@custos/core';
import { identityKeyHash, IDENTITY_COMMITMENT_MARK } from './enrolment-keys.js';

/** One enrolment in the listing. */
export interface TestEnrolment {
  readonly deviceId: string;
  /** The serialized identity key the act commits to; null: a pre-commitment enrolment (det = user id). */
  readonly identityKey: Uint8Array | null;
  /** Serve the entry without its document. */
  readonly withheld?: boolean;
  /** The user the act enrols the device for (default `user-1`). */
  readonly userId?: string;
  /** A `device.revoke` act of the device (`device-revoked` entry) instead of its enrolment. */
  readonly revoke?: boolean;
}

/** When the test acts happened (ms). */
const ACT_TIME = 1_767_225_600_000;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

// Largest power of two below n (n ≥ 2), the RFC 6962 split.
const split = (n: number): number => 2 ** Math.floor(Math.log2(n - 1));

function root(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return hashChildren(root(leaves.slice(0, k)), root(leaves.slice(k)));
}

function proof(index: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...proof(index, leaves.slice(0, k)), root(leaves.slice(k))]
    : [...proof(index - k, leaves.slice(k)), root(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, leaves, b). */
function subproof(m: number, leaves: readonly Uint8Array[], complete: boolean): Uint8Array[] {
  if (m === leaves.length) return complete ? [] : [root(leaves)];
  const k = split(leaves.length);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), root(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), root(leaves.slice(0, k))];
}

/**
 * The answer of `GET …/log/proof/consistency?from=&to=` (`path`) over the log of `entries`
 * (encoded entries, in order), or undefined when `path` is not that route.
 */
export function consistencyAnswerFor(
  path: string,
  entries: readonly Uint8Array[],
): Record<string, unknown> | undefined {
  const u = new URL(`http://x${path}`);
  if (!u.pathname.endsWith('/log/proof/consistency')) return undefined;
  const from = Number(u.searchParams.get('from'));
  const to = Number(u.searchParams.get('to'));
  const leaves = entries.slice(0, to).map((e) => hashLeaf(e));
  return { from, to, proof: subproof(from, leaves, true).map(b64) };
}

/** The encoded log entries of `enrolments`' acts in `org`, after `prefix` (other entries of the log). */
export function auditEntriesFor(
  org: string,
  enrolments: readonly TestEnrolment[],
  prefix: readonly Uint8Array[] = [],
): Uint8Array[] {
  return [...prefix, ...actsFor(org, enrolments).map((a) => a.entry)];
}

function actsFor(
  org: string,
  enrolments: readonly TestEnrolment[],
): { entry: Uint8Array; doc: Uint8Array; withheld: boolean }[] {
  return enrolments.map((d, i) => {
    const user = d.userId ?? 'user-1';
    const det =
      d.identityKey === null ? user : `${user} ${IDENTITY_COMMITMENT_MARK}${identityKeyHash(d.identityKey)}`;
    const at = ACT_TIME + i;
    const doc = encodeActDocument({
      org,
      kind: d.revoke === true ? 'device.revoke' : 'device.register',
      actor: d.deviceId,
      subject: d.deviceId,
      at,
      detail: d.revoke === true ? 'retired' : det,
    });
    const entry = encodeLogEntry({
      type: 'key-event',
      hash: new Uint8Array(createHash('sha256').update(doc).digest()),
      size: doc.length,
      actor: d.deviceId,
      time: at,
      kind: d.revoke === true ? 'device-revoked' : 'device-enrolled',
      subject: d.deviceId,
    });
    return { entry, doc, withheld: d.withheld === true };
  });
}

/**
 * The full audit listing (one page, `next: null`) of `org` holding `enrolments` in order,
 * after the entries `prefix` (other entries of the same log) when given.
 */
export function auditListingFor(
  org: string,
  log: { readonly origin: string; readonly signerKey: string },
  enrolments: readonly TestEnrolment[],
  prefix: readonly Uint8Array[] = [],
): Record<string, unknown> {
  const acts = actsFor(org, enrolments);
  const leaves = auditEntriesFor(org, enrolments, prefix).map((e) => hashLeaf(e));
  const note = signCheckpoint(
    { origin: log.origin, treeSize: leaves.length, rootHash: root(leaves), extensions: [] },
    parseSignerKey(log.signerKey),
  );
  return {
    acts: acts.map((a, i) => ({
      index: prefix.length + i,
      entry: b64(a.entry),
      document: a.withheld ? null : b64(a.doc),
      proof: proof(prefix.length + i, leaves).map(b64),
    })),
    checkpoint: { treeSize: leaves.length, note },
    next: null,
  };
}
