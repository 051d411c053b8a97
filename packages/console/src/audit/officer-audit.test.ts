/**
 * Checking an act document against its log entry (what `custos console audit` trusts for
 * subject and detail): a matching document passes; any change to the document or the
 * entry fails with a named error; random mutations never throw anything but Custos or
 * console errors. And acts in words.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CustosError, encodeDeterministicCbor, type LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { ConsoleError } from '../console-error.js';
import { describeAct } from './audit-words.js';
import { checkActDocument } from './officer-audit.js';

const ORG = 'org-aaaaaaaaaaaaaaaaaaaa';
const DOC = {
  org: ORG,
  kind: 'user.role',
  act: 'dev-1',
  sub: 'user-9',
  at: 1_700_000_000_000,
  det: 'officer',
};

function entryFor(doc: Uint8Array, over: Partial<LogEntry> = {}): LogEntry {
  return {
    type: 'audit-event',
    hash: createHash('sha256').update(doc).digest(),
    size: doc.length,
    actor: 'dev-1',
    time: DOC.at,
    kind: 'user-role',
    ...over,
  } as LogEntry;
}

describe('act documents', () => {
  it('accepts the document the entry hashes and reads subject and detail', () => {
    const doc = encodeDeterministicCbor(DOC);
    expect(checkActDocument(ORG, entryFor(doc), doc, 5)).toEqual(DOC);
    const key = encodeDeterministicCbor({
      org: ORG,
      kind: 'device.revoke',
      act: 'dev-1',
      sub: 'dev-7',
      at: 5,
    });
    const e: LogEntry = {
      type: 'key-event',
      hash: createHash('sha256').update(key).digest(),
      size: key.length,
      actor: 'dev-1',
      time: 5,
      kind: 'device-revoked',
      subject: 'dev-7',
    };
    expect(checkActDocument(ORG, e, key, 1).sub).toBe('dev-7');
    expect(() => checkActDocument(ORG, { ...e, subject: 'dev-8' }, key, 1)).toThrow(/another subject/);
  });

  it('refuses a document that disagrees with its entry', () => {
    const doc = encodeDeterministicCbor(DOC);
    const bad: [LogEntry, Uint8Array, RegExp][] = [
      [entryFor(doc), encodeDeterministicCbor({ ...DOC, det: 'admin' }), /does not hash/],
      [entryFor(doc, { actor: 'dev-2' }), doc, /another org, actor/],
      [entryFor(doc, { time: DOC.at + 1 }), doc, /another org, actor/],
      [entryFor(doc, { kind: 'user-retention' }), doc, /another org, actor/],
    ];
    for (const [e, d, why] of bad) expect(() => checkActDocument(ORG, e, d, 3)).toThrow(why);
    expect(() => checkActDocument('org-other', entryFor(doc), doc, 3)).toThrow(/another org/);
    const extra = encodeDeterministicCbor({ ...DOC, x: 1 });
    expect(() => checkActDocument(ORG, entryFor(extra), extra, 3)).toThrow(/not an act document/);
  });

  it('random mutations are refused with a Custos or console error, never a raw one', () => {
    const doc = encodeDeterministicCbor(DOC);
    for (let i = 0; i < 2000; i++) {
      const m = Buffer.from(doc);
      const at = i % m.length;
      if (i % 3 === 0) m[at] = m[at]! ^ (1 << (i % 8));
      const input =
        i % 3 === 1 ? m.subarray(0, at) : i % 3 === 2 ? Buffer.concat([m, randomBytes(i % 5)]) : m;
      try {
        checkActDocument(ORG, entryFor(input), input, i);
      } catch (e) {
        expect(e instanceof ConsoleError || e instanceof CustosError, String(e)).toBe(true);
      }
    }
  });

  it('describes acts in words', () => {
    const doc = DOC;
    const e = entryFor(encodeDeterministicCbor(doc));
    expect(describeAct(e, doc)).toBe('set the role of user user-9 to officer');
    expect(describeAct({ ...e, kind: 'brand-new-kind' } as LogEntry, { ...doc, det: 'x=1' })).toBe(
      'brand-new-kind user-9 (x=1)',
    );
    const hold: LogEntry = {
      type: 'hold',
      hash: new Uint8Array(32),
      size: 1,
      actor: 'd',
      time: 1,
      holdId: 'h-1',
      action: 'release',
    };
    expect(describeAct(hold, null)).toBe('released legal hold h-1');
  });
});
