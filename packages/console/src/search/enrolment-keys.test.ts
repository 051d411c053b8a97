/**
 * enrolmentKeyChecker against a fake server serving a real audit listing (key-event
 * entries, act documents, inclusion proofs, a checkpoint signed by the log key): a served
 * key matches or not the committed hash; pre-commitment enrolments are `legacy`; unknown
 * devices and withheld documents are `absent`; the listing is read once and again only for
 * an unseen device or a record beyond its checkpoint; a record logged after its device's
 * revocation is told; a listing signed by another key or with an altered document is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateKey } from '@signalapp/libsignal-client';
import { generateSignerKey } from '@custos/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { OfficerSession } from '../officer-session.js';
import { NO_PROGRESS, officerAudit } from '../audit/officer-audit.js';
import { enrolmentKeyChecker } from './enrolment-keys.js';
import {
  auditEntriesFor,
  auditListingFor,
  consistencyAnswerFor,
  type TestEnrolment,
} from './enrolment-test-support.js';

const ORG = 'org-aaaaaaaaaaaaaaaaaaaa';
const ORIGIN = 'custos.example/acme';
const key = generateSignerKey(ORIGIN);
const log = { origin: ORIGIN, verifierKey: key.verifierKey };
const dir = mkdtempSync(join(tmpdir(), 'custos-enrolment-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const idKey = (): Uint8Array => PrivateKey.generate().getPublicKey().serialize();

/** A session whose server lists `enrolments()` (re-evaluated per call), recording the paths asked. */
function session(
  enrolments: () => readonly TestEnrolment[],
  edit: (r: Record<string, unknown>) => Record<string, unknown> = (r) => r,
  signerKey = key.signerKey,
): { s: OfficerSession; asked: string[] } {
  const asked: string[] = [];
  const s = {
    orgId: ORG,
    // A profile per session: each fake log is its own history.
    dir: mkdtempSync(join(dir, 'profile-')),
    api: {
      call: (_method: string, path: string) =>
        Promise.resolve(consistencyAnswerFor(path, auditEntriesFor(ORG, enrolments())) ?? {}),
    },
    call: (_method: string, path: string) => {
      asked.push(path);
      const all = auditListingFor(ORG, { origin: ORIGIN, signerKey }, enrolments());
      const after = new URL(`http://x${path}`).searchParams.get('after');
      const acts = (all.acts as { index: number }[]).filter((a) => after === null || a.index > Number(after));
      return Promise.resolve(edit({ ...all, acts }));
    },
  } as unknown as OfficerSession;
  return { s, asked };
}

describe('enrolmentKeyChecker', () => {
  it('matches the committed key, refuses another, and tells legacy and absent apart', async () => {
    const a = idKey();
    const b = idKey();
    const { s, asked } = session(() => [
      { deviceId: 'dev-a', identityKey: a },
      { deviceId: 'dev-old', identityKey: null },
      { deviceId: 'dev-w', identityKey: b, withheld: true },
    ]);
    const check = enrolmentKeyChecker(s, log);
    expect(await check('dev-a', a)).toBe('match');
    expect(await check('dev-a', b)).toBe('mismatch');
    expect(await check('dev-old', a)).toBe('legacy');
    expect(asked).toHaveLength(1);
    expect(await check('dev-w', b)).toBe('absent');
    expect(await check('dev-x', b)).toBe('absent');
    // Unseen devices re-read from after the last act seen.
    expect(asked.slice(1)).toEqual([
      `/v1/orgs/${ORG}/audit?limit=500&after=2`,
      `/v1/orgs/${ORG}/audit?limit=500&after=2`,
    ]);
  });

  it('finds a device enrolled after the first read', async () => {
    const a = idKey();
    const c = idKey();
    const list: TestEnrolment[] = [{ deviceId: 'dev-a', identityKey: a }];
    const check = enrolmentKeyChecker(session(() => list).s, log);
    expect(await check('dev-a', a)).toBe('match');
    list.push({ deviceId: 'dev-c', identityKey: c });
    expect(await check('dev-c', c)).toBe('match');
  });

  it("tells a record logged after its device's revocation, reading on until the listing covers it", async () => {
    const a = idKey();
    const list: TestEnrolment[] = [
      { deviceId: 'dev-a', identityKey: a },
      { deviceId: 'dev-a', identityKey: null, revoke: true },
      { deviceId: 'dev-b', identityKey: a },
      { deviceId: 'dev-c', identityKey: a },
    ];
    const { s, asked } = session(() => list);
    expect(enrolmentKeyChecker(s, log).revokedBefore).toBeUndefined();
    const check = enrolmentKeyChecker(s, log, { revocations: true });
    // The revocation is at log index 1: a record at 2 or later was handed in after it.
    expect(await check.revokedBefore!('dev-a', 2)).toBe(1);
    expect(await check.revokedBefore!('dev-a', 3)).toBe(1);
    expect(await check.revokedBefore!('dev-a', 0)).toBeNull();
    expect(await check.revokedBefore!('dev-b', 3)).toBeNull();
    expect(asked).toHaveLength(1);
    // A record beyond the listing's checkpoint (tree size 4): read on once; still short, refused.
    await expect(check.revokedBefore!('dev-a', 4)).rejects.toThrow(
      /the audit listing's checkpoint \(tree size 4\) does not cover the record at log index 4/,
    );
    expect(asked).toHaveLength(2);
    // The log grew (a later act): read on from the last act seen, and the record is marked.
    list.push({ deviceId: 'dev-d', identityKey: a });
    expect(await check.revokedBefore!('dev-a', 4)).toBe(1);
    expect(asked.at(-1)).toBe(`/v1/orgs/${ORG}/audit?limit=500&after=3`);
    // Only a device's first revocation counts (a device is revoked once).
    list.push({ deviceId: 'dev-b', identityKey: null, revoke: true });
    list.push({ deviceId: 'dev-b', identityKey: null, revoke: true });
    expect(await check.revokedBefore!('dev-b', 6)).toBe(5);
  });

  it('refuses a listing page that names a next page but lists no act, here and in console audit', async () => {
    const a = idKey();
    const list = (): TestEnrolment[] => [{ deviceId: 'dev-a', identityKey: a }];
    // Every page after the first: no acts, and a next page again (a cursor that never moves).
    const stuck = (r: Record<string, unknown>) => ({ ...r, next: '0' });
    const { s, asked } = session(list, stuck);
    await expect(enrolmentKeyChecker(s, log)('dev-a', a)).rejects.toThrow(NO_PROGRESS);
    expect(asked).toHaveLength(2);
    // console audit reads the same listing: with acts filtered out by --kind too, it stops.
    const audit = session(list, stuck);
    const withLog = {
      ...audit.s,
      call: (method: 'GET', path: string) =>
        path.endsWith('/log') ? Promise.resolve({ ...log }) : audit.s.call(method, path),
    };
    await expect(officerAudit(withLog, { kinds: ['hold.create'] })).rejects.toThrow(NO_PROGRESS);
    expect(audit.asked).toHaveLength(2);
  });

  it('refuses a listing signed by another key, an altered document or a bad proof', async () => {
    const a = idKey();
    const one = (): TestEnrolment[] => [
      { deviceId: 'dev-a', identityKey: a },
      { deviceId: 'dev-b', identityKey: a },
    ];
    const other = generateSignerKey(ORIGIN).signerKey;
    await expect(enrolmentKeyChecker(session(one, undefined, other).s, log)('dev-a', a)).rejects.toThrow();
    const alter = (r: Record<string, unknown>) => {
      const acts = (r.acts as Record<string, unknown>[]).map((x) => ({ ...x }));
      const doc = Buffer.from(acts[0]!.document as string, 'base64url');
      doc[doc.length - 1]! ^= 1;
      acts[0]!.document = doc.toString('base64url');
      return { ...r, acts };
    };
    await expect(enrolmentKeyChecker(session(one, alter).s, log)('dev-a', a)).rejects.toThrow(
      /does not hash/,
    );
    const badProof = (r: Record<string, unknown>) => ({
      ...r,
      acts: (r.acts as Record<string, unknown>[]).map((x) => ({ ...x, proof: [] })),
    });
    await expect(enrolmentKeyChecker(session(one, badProof).s, log)('dev-a', a)).rejects.toThrow(
      /inclusion proof fails/,
    );
  });
});
