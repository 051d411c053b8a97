import { describe, expect, it } from 'vitest';
import {
  decodeFindingAcknowledgement,
  encodeFindingAcknowledgement,
  findingAcknowledgementActDetail,
  findingAcknowledgementMessage,
  type FindingAcknowledgement,
} from './finding-acknowledgement.js';
import { encodeDeterministic } from '../record/deterministic-cbor.js';

const ack: FindingAcknowledgement = {
  orgId: 'org-1',
  findingId: 'gap/org-1/dev_A/5-7',
  reason: 'Phone wiped before upload; incident 2026-114.',
  officerIndex: 2,
  at: 1_764_000_000_000,
};

describe('finding acknowledgement', () => {
  it('encodes deterministically and decodes to the same statement', () => {
    const bytes = encodeFindingAcknowledgement(ack);
    expect(Buffer.from(bytes).equals(Buffer.from(encodeFindingAcknowledgement({ ...ack })))).toBe(true);
    expect(decodeFindingAcknowledgement(bytes)).toEqual(ack);
    const msg = findingAcknowledgementMessage(bytes);
    expect(Buffer.from(msg).subarray(0, 34).toString('utf8')).toBe('custos-finding-acknowledgement-v1\u0000');
    expect(Buffer.from(msg).subarray(34).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses an empty or padded reason, control characters, another org and malformed ids', () => {
    for (const reason of ['', '   ', ' padded', 'two\nlines', 'x'.repeat(2001)])
      expect(() => encodeFindingAcknowledgement({ ...ack, reason })).toThrow(/reason/);
    expect(() => encodeFindingAcknowledgement({ ...ack, findingId: 'gap/org-2/dev_A/5-7' })).toThrow(
      /another organisation/,
    );
    for (const findingId of ['gap', 'gap/org-1/dev A/1-2', 'GAP/org-1/d/1-1', 'gap//org-1', 'gap/org-1/d/'])
      expect(() => encodeFindingAcknowledgement({ ...ack, findingId })).toThrow(/finding id/);
    expect(() => encodeFindingAcknowledgement({ ...ack, officerIndex: -1 })).toThrow(/officer index/);
  });

  it('decodes only the one encoding of a version 1 statement', () => {
    const doc = {
      v: 1,
      typ: 'finding-acknowledgement',
      org: ack.orgId,
      fnd: ack.findingId,
      why: ack.reason,
      off: 2,
      at: ack.at,
    };
    expect(decodeFindingAcknowledgement(encodeDeterministic(doc))).toEqual(ack);
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, v: 2 }))).toThrow(
      /version 1 or 2/,
    );
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, saw: 'unarchived=1' }))).toThrow(
      /version 1 or 2/,
    );
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, extra: 1 }))).toThrow(
      /version 1/,
    );
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, why: '' }))).toThrow(/reason/);
    expect(() => decodeFindingAcknowledgement(new Uint8Array([0xa0, 0x00]))).toThrow();
  });

  it('signs the state the officer saw as version 2; without one the statement is version 1 as before', () => {
    const state = 'unarchived=7,handed-in=none,gaps=none';
    const withState = { ...ack, findingId: 'revoked/org-1/dev_A/412', state };
    const bytes = encodeFindingAcknowledgement(withState);
    expect(decodeFindingAcknowledgement(bytes)).toEqual(withState);
    const doc = {
      v: 2,
      typ: 'finding-acknowledgement',
      org: ack.orgId,
      fnd: withState.findingId,
      why: ack.reason,
      off: 2,
      at: ack.at,
      saw: state,
    };
    expect(Buffer.from(bytes).equals(Buffer.from(encodeDeterministic(doc)))).toBe(true);
    // Another count is another statement: the state is signed.
    const other = encodeFindingAcknowledgement({
      ...withState,
      state: 'unarchived=8,handed-in=none,gaps=none',
    });
    expect(Buffer.from(other).equals(Buffer.from(bytes))).toBe(false);
    // Version 1 is unchanged: no `saw` key, `v: 1`.
    expect(decodeFindingAcknowledgement(encodeFindingAcknowledgement(ack))).toEqual(ack);
    expect(
      Buffer.from(encodeFindingAcknowledgement(ack)).equals(
        Buffer.from(
          encodeDeterministic({
            v: 1,
            typ: 'finding-acknowledgement',
            org: ack.orgId,
            fnd: ack.findingId,
            why: ack.reason,
            off: 2,
            at: ack.at,
          }),
        ),
      ),
    ).toBe(true);
    for (const bad of ['', 'has space', 'x'.repeat(401), 'semi;colon'])
      expect(() => encodeFindingAcknowledgement({ ...withState, state: bad })).toThrow(/state/);
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, saw: 'a b' }))).toThrow(/state/);
    expect(() => decodeFindingAcknowledgement(encodeDeterministic({ ...doc, v: 1 }))).toThrow(
      /version 1 or 2/,
    );
  });

  it("takes a state on a revoked device's finding (revoked/ORG/DEVICE/LOG_INDEX) only, and requires it there", () => {
    const state = 'unarchived=7,handed-in=none,gaps=none';
    // A state on any other finding: a gap, a revoked id in the form from before states.
    for (const findingId of ['gap/org-1/dev_A/5-7', 'revoked/org-1/dev_A/3-none', 'revoked/org-1/dev_A/07'])
      expect(() => encodeFindingAcknowledgement({ ...ack, findingId, state })).toThrow(
        /the state is only for a revoked device's finding/,
      );
    // No state (version 1) on a revoked device's finding.
    expect(() => encodeFindingAcknowledgement({ ...ack, findingId: 'revoked/org-1/dev_A/412' })).toThrow(
      /the state is required for a revoked device's finding \(revoked\/org-1\/dev_A\/412\)/,
    );
    // Decoding refuses them as well (MALFORMED_INPUT), whoever encoded them.
    const v1 = { v: 1, typ: 'finding-acknowledgement', org: 'org-1', why: 'x', off: 0, at: 1 };
    expect(() =>
      decodeFindingAcknowledgement(encodeDeterministic({ ...v1, fnd: 'revoked/org-1/d/4' })),
    ).toThrow(
      expect.objectContaining({
        code: 'MALFORMED_INPUT',
        message: expect.stringMatching(/state is required/),
      }),
    );
    expect(() =>
      decodeFindingAcknowledgement(encodeDeterministic({ ...v1, v: 2, fnd: 'gap/org-1/d/1-1', saw: state })),
    ).toThrow(
      expect.objectContaining({ code: 'MALFORMED_INPUT', message: expect.stringMatching(/only for/) }),
    );
    // The old revoked ids are version 1, as they were.
    expect(() =>
      encodeFindingAcknowledgement({ ...ack, findingId: 'revoked/org-1/dev_A/3-none' }),
    ).not.toThrow();
  });

  it('names the statement in its act\'s detail by SHA-256 (FIPS 180-2 vector for "abc")', () => {
    expect(findingAcknowledgementActDetail(Buffer.from('abc'))).toBe(
      'statement-sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
