/**
 * bindingFindings: each `officer-bind` act of the verified log, built as the server builds it
 * (server auth/officer-binding.ts: the act document's detail commits to the officer index and
 * the statement's SHA-256), against the statements the server serves. An honest listing gives
 * nothing; a statement withheld, altered, signed by no officer in office, or naming another
 * org, device or officer than its act is a finding naming the act, never acknowledgeable.
 */
import { createHash } from 'node:crypto';
import { encodeDeterministicCbor, sealOfficerDeviceBinding, type LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { ConsoleError } from '../console-error.js';
import { officersByIndex } from '../holds/hold-test-support.js';
import { SigningKey } from '../signing-key.js';
import { notAcknowledgeable } from './finding-acknowledgements.js';
import { findingId } from './finding-ids.js';
import { bindingFindings, type ServedBinding } from './officer-bindings.js';
import type { IndexedEntry } from './verified-log.js';

const ORG = 'org-bind';
const T = Date.UTC(2026, 2, 1);
const OFFICER_0 = SigningKey.generate();
const OFFICER_1 = SigningKey.generate();
/** Officers 0 and 1 in office throughout. */
const OFFICERS = officersByIndex(
  () =>
    new Map([
      [0, OFFICER_0],
      [1, OFFICER_1],
    ]),
);

/** `signer` (officer `index`) binds `deviceId` of `org` at `at`, as a console does. */
const statement = (deviceId: string, index: number, signer: SigningKey, org = ORG, at = T): Uint8Array =>
  sealOfficerDeviceBinding(
    {
      org,
      deviceId,
      identityKeyHash: createHash('sha256').update(deviceId).digest(),
      officerIndex: index,
      issuedAt: at,
    },
    signer,
  );

/** The `officer-bind` entry the server logs for `deviceId` committing to `st` as officer `index`'s. */
const bindEntry = (deviceId: string, index: number, st: Uint8Array, at = T): LogEntry => {
  const detail = `officer=${index} statement-sha256=${createHash('sha256').update(st).digest('hex')}`;
  const hash = auditDocumentHash(ORG, {
    kind: 'officer.bind',
    actor: deviceId,
    subject: deviceId,
    at,
    detail,
  });
  return {
    type: 'audit-event',
    kind: 'officer-bind',
    hash: Buffer.from(hash, 'hex'),
    size: 1,
    actor: deviceId,
    time: at,
  };
};

const served = (deviceId: string, index: number, st: Uint8Array, at = T): ServedBinding => ({
  deviceId,
  officerIndex: index,
  boundAt: at,
  statement: st,
});

const indexed = (...entries: LogEntry[]): IndexedEntry[] =>
  entries.map((entry, i) => ({ index: i + 3, entry }));

const GOOD_A = statement('dev-a', 0, OFFICER_0);
const GOOD_B = statement('dev-b', 1, OFFICER_1);
const HONEST_LOG = indexed(bindEntry('dev-a', 0, GOOD_A), bindEntry('dev-b', 1, GOOD_B));
const HONEST = [served('dev-a', 0, GOOD_A), served('dev-b', 1, GOOD_B)];

describe('bindingFindings', () => {
  it('finds nothing when every act has its officer-signed statement', () => {
    expect(bindingFindings(ORG, HONEST_LOG, HONEST, OFFICERS)).toEqual([]);
    // A binding served without an act in the log attributes nothing the log shows.
    const extra = served('dev-c', 0, statement('dev-c', 0, OFFICER_0));
    expect(bindingFindings(ORG, HONEST_LOG, [...HONEST, extra], OFFICERS)).toEqual([]);
  });

  it('names an act whose statement the server does not serve', () => {
    const f = bindingFindings(ORG, HONEST_LOG, [HONEST[1]!], OFFICERS);
    expect(f).toEqual([
      {
        kind: 'officer-binding',
        deviceId: 'dev-a',
        logIndex: 3,
        aspect: 'missing',
        problem:
          'the server serves no officer-signed statement for it: nothing shows an officer bound this device',
      },
    ]);
    expect(findingId(ORG, f[0]!, new Map())).toBe(`officer-binding/${ORG}/dev-a/3`);
    expect(notAcknowledgeable({ ...f[0]!, id: findingId(ORG, f[0]!, new Map()) })).toMatch(
      /signed statement/,
    );
  });

  it('names an altered statement: a flipped byte, another officer index, another binding of the device', () => {
    const flipped = Uint8Array.from(GOOD_A);
    flipped[flipped.length - 1]! ^= 1;
    const alteredBy = (s: ServedBinding) => bindingFindings(ORG, HONEST_LOG, [s, HONEST[1]!], OFFICERS);
    for (const s of [
      served('dev-a', 0, flipped),
      served('dev-a', 1, GOOD_A),
      served('dev-a', 0, statement('dev-a', 0, OFFICER_0, ORG, T + 1)),
    ])
      expect(alteredBy(s)).toEqual([
        expect.objectContaining({ deviceId: 'dev-a', logIndex: 3, aspect: 'altered' }),
      ]);
    // The log binding the same device twice: one statement is served, the second act has none of its own.
    const twice = indexed(...HONEST_LOG.map((e) => e.entry), bindEntry('dev-a', 1, GOOD_B, T + 5));
    expect(bindingFindings(ORG, twice, HONEST, OFFICERS)).toEqual([
      expect.objectContaining({ deviceId: 'dev-a', logIndex: 5, aspect: 'altered' }),
    ]);
  });

  it('names a statement the act commits to that no officer in office signed', () => {
    const mallory = SigningKey.generate();
    const forged = statement('dev-a', 0, mallory);
    const log = indexed(bindEntry('dev-a', 0, forged), HONEST_LOG[1]!.entry);
    expect(bindingFindings(ORG, log, [served('dev-a', 0, forged), HONEST[1]!], OFFICERS)).toEqual([
      expect.objectContaining({
        deviceId: 'dev-a',
        aspect: 'unsigned',
        problem: expect.stringMatching(/^no officer signed it: .*signature/),
      }),
    ]);
    // Officer 1 was not in office when dev-b's binding was logged (added at log index 10).
    const later = officersByIndex(
      (i) =>
        new Map(
          i < 10
            ? [[0, OFFICER_0]]
            : [
                [0, OFFICER_0],
                [1, OFFICER_1],
              ],
        ),
    );
    expect(bindingFindings(ORG, HONEST_LOG, HONEST, later)).toEqual([
      expect.objectContaining({
        deviceId: 'dev-b',
        aspect: 'unsigned',
        problem: 'no officer signed it: it is signed as officer 2, who was not an officer when it was logged',
      }),
    ]);
    // Bytes that are no signed binding at all, committed to by the act.
    const junk = encodeDeterministicCbor({ typ: 'officer-device-binding' });
    const junkLog = indexed(bindEntry('dev-a', 0, junk));
    expect(bindingFindings(ORG, junkLog, [served('dev-a', 0, junk)], OFFICERS)).toEqual([
      expect.objectContaining({ deviceId: 'dev-a', aspect: 'unsigned' }),
    ]);
  });

  it('stops on a profile that cannot say who was in office, rather than blaming the server', () => {
    const noCeremonyList = {
      at: (): never => {
        throw new ConsoleError('PROFILE_INVALID', 'no ceremonyOfficerList');
      },
    };
    expect(() => bindingFindings(ORG, HONEST_LOG, HONEST, noCeremonyList)).toThrow(
      expect.objectContaining({ code: 'PROFILE_INVALID' }),
    );
  });

  it('names a signed statement for another org, another device or another officer than its act', () => {
    const cases: [Uint8Array, number, RegExp][] = [
      [statement('dev-a', 0, OFFICER_0, 'org-other'), 0, /another organisation \(org-other\)/],
      [statement('dev-z', 0, OFFICER_0), 0, /another device \(dev-z\)/],
      // Signed by officer 1 as themself; the server's act (and listing) names officer 0.
      [statement('dev-a', 1, OFFICER_1), 0, /signed by officer 2, the act names officer 1/],
    ];
    for (const [st, index, why] of cases) {
      const log = indexed(bindEntry('dev-a', index, st));
      expect(bindingFindings(ORG, log, [served('dev-a', index, st)], OFFICERS)).toEqual([
        expect.objectContaining({
          deviceId: 'dev-a',
          aspect: 'misdirected',
          problem: expect.stringMatching(why),
        }),
      ]);
    }
  });
});
