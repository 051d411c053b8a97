/**
 * The policy the server reports is accepted only when it hashes to the newest
 * completeness-policy entry of the verified log (and the defaults only when there is none):
 * a server that relaxes the policy quietly, or hides a change, is caught.
 */
import { completenessPolicyActDetail, type LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { isConsoleError } from '../console-error.js';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { verifyPolicy } from './run-completeness.js';
import type { VerifiedLog } from './verified-log.js';

const ORG = 'org-policy';
const DAY = 86_400_000;

function policyEntry(silent: number, grace: number, at: number): LogEntry {
  const hex = auditDocumentHash(ORG, {
    kind: 'completeness.policy',
    actor: 'officer-dev',
    subject: ORG,
    at,
    detail: completenessPolicyActDetail(silent, grace),
  });
  return {
    type: 'audit-event',
    kind: 'completeness-policy',
    hash: new Uint8Array(Buffer.from(hex, 'hex')),
    size: 1,
    actor: 'officer-dev',
    time: at,
  };
}
const logOf = (es: LogEntry[]): VerifiedLog => ({
  origin: 'o',
  verifierKey: 'k',
  treeSize: es.length,
  checkpoint: '',
  entries: es.map((entry, index) => ({ index, entry })),
});
const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(isConsoleError(e, 'LOG_INVALID')).toBe(true);
    return;
  }
  expect.unreachable('expected LOG_INVALID');
};

describe('verifyPolicy', () => {
  const defaults = { silentAfterMs: 7 * DAY, receiptGraceMs: DAY, setBy: null, setAt: null };
  const set = { silentAfterMs: 3 * DAY, receiptGraceMs: 0, setBy: 'officer-dev', setAt: 50 };

  it('accepts the defaults with no policy entry, and a policy matching the newest entry', () => {
    expect(verifyPolicy(ORG, logOf([]), defaults).source).toBe('default');
    const log = logOf([policyEntry(DAY, DAY, 10), policyEntry(3 * DAY, 0, 50)]);
    expect(verifyPolicy(ORG, log, set)).toMatchObject({ source: 'log', silentAfterMs: 3 * DAY });
  });

  it('refuses the defaults when the log records a change, an older policy, and a relaxed one', () => {
    const log = logOf([policyEntry(DAY, DAY, 10), policyEntry(3 * DAY, 0, 50)]);
    refused(() => verifyPolicy(ORG, log, defaults));
    refused(() => verifyPolicy(ORG, log, { ...set, silentAfterMs: DAY, receiptGraceMs: DAY, setAt: 10 }));
    refused(() => verifyPolicy(ORG, log, { ...set, silentAfterMs: 300 * DAY }));
    refused(() => verifyPolicy(ORG, logOf([]), set));
  });

  it('hashes the act document as the server does (deterministic CBOR of org, kind, act, sub, at, det)', () => {
    // Computed independently (a hand-written RFC 8949 §4.2.1 encoder in Python): keys sorted
    // by their encoding, so at, act, det, org, sub, kind.
    expect(
      auditDocumentHash(ORG, {
        kind: 'completeness.policy',
        actor: 'officer-dev',
        subject: ORG,
        at: 50,
        detail: completenessPolicyActDetail(3 * DAY, 0),
      }),
    ).toBe('8d9dfef25315d726672b8b49a9f8232bd81592299752bff18f8d8ed7b9cc1f2d');
    // Without a detail the `det` key is absent, not empty.
    expect(auditDocumentHash(ORG, { kind: 'k', actor: 'a', subject: 's', at: 1, detail: null })).not.toBe(
      auditDocumentHash(ORG, { kind: 'k', actor: 'a', subject: 's', at: 1, detail: '' }),
    );
  });
});
