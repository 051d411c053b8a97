/**
 * holdDisagreements: the server's hold listing against the `hold` entries of the verified
 * log, built as the server builds them (server holds/hold-acts.ts: the entry's hash commits
 * to the act's document). An honest listing agrees; a server that hides an active hold,
 * lists one the log never placed, calls an active hold released, backdates a placement or
 * widens a date hold's scope is named, hold by hold; a token hold whose scope the run's budget
 * could not settle is named as unchecked, never passed. A release is an officer's signed
 * statement: one the server wrote itself (no statement, a statement that does not verify, is
 * for another hold or org, or by no officer in office) is named; a release logged without a
 * statement before the log's first signed release is `unsigned-release` (before signing).
 */
import { createHash } from 'node:crypto';
import { holdReleaseActDetail, type LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { SigningKey } from '../signing-key.js';
import { holdDisagreements as disagreementsWith, type LoggedHold } from './hold-log-check.js';
import { holdScopeSearch, type HoldScopeSearch } from './hold-scope-search.js';
import { holdActEntry, listedHold, officersByIndex, signedRelease } from './hold-test-support.js';

const ORG = 'org-holds';
const OFFICER = 'dev-officer';
const T = Date.UTC(2026, 2, 1);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: LoggedHold = listedHold(OFFICER, T, { matter: 'Smith v. Agency' });
/** Officer 0's signing key, the one officer of the list in force throughout (unless a test says otherwise). */
const OFFICER_KEY = SigningKey.generate();
const OFFICERS = officersByIndex(() => new Map([[0, OFFICER_KEY]]));
/** The check with officer 0 in office throughout (the release tests pass their own lists). */
const holdDisagreements = (
  org: string,
  holds: readonly LoggedHold[],
  entries: readonly IndexedEntry[],
  scopes?: HoldScopeSearch,
) => disagreementsWith(org, holds, entries, OFFICERS, scopes);
const dates: LoggedHold = signedRelease(
  ORG,
  {
    ...custodian,
    holdId: 'hold-d',
    kind: 'dates',
    custodian: null,
    from: Date.UTC(2026, 0, 1),
    to: Date.UTC(2026, 1, 1),
    createdAt: T + 1,
    releasedBy: OFFICER,
    releasedAt: T + 5,
    releaseReason: 'matter closed',
  },
  OFFICER_KEY,
  0,
);
const query: LoggedHold = {
  ...custodian,
  holdId: 'hold-q',
  kind: 'query',
  custodian: null,
  buckets: ['bucket-1', 'bucket-2'],
  createdAt: T + 2,
};

const act = (h: LoggedHold, action: 'place' | 'release', detail: string | null): LogEntry =>
  holdActEntry(ORG, h, action, detail);
/** The detail of `h`'s release act as the server writes it, committing to its listed statement (if any). */
const releaseDetail = (h: LoggedHold): string =>
  holdReleaseActDetail(
    h.releaseReason!,
    h.releaseStatement === null ? null : Buffer.from(h.releaseStatement, 'base64url'),
  );

const honestLog: IndexedEntry[] = [
  act(custodian, 'place', `kind=custodian user=user-7 matter-sha256=${sha(custodian.matter)}`),
  act(dates, 'place', `kind=dates from=${dates.from} to=${dates.to} matter-sha256=${sha(dates.matter)}`),
  act(query, 'place', `kind=query buckets=2 tokens=4 matter-sha256=${sha(query.matter)}`),
  act(dates, 'release', releaseDetail(dates)),
].map((entry, index) => ({ index, entry }));

describe('holdDisagreements', () => {
  it('finds none for the honest listing', () => {
    expect(holdDisagreements(ORG, [custodian, dates, query], honestLog)).toEqual([]);
  });

  it('names a hidden active hold, and a listed hold no act placed', () => {
    expect(holdDisagreements(ORG, [dates, query], honestLog)).toEqual([
      {
        holdId: 'hold-c',
        aspect: 'not-listed',
        problem: 'the log shows it placed and not released (entry 0), the server does not list it',
      },
    ]);
    const invented = { ...custodian, holdId: 'hold-x' };
    expect(holdDisagreements(ORG, [custodian, dates, query, invented], honestLog)).toEqual([
      {
        holdId: 'hold-x',
        aspect: 'not-placed',
        problem: 'the server lists it, but no act in the log placed it',
      },
    ]);
  });

  it('names a hold the log places twice', () => {
    const twice = [...honestLog, { index: 4, entry: honestLog[0]!.entry }];
    expect(holdDisagreements(ORG, [custodian, dates, query], twice)).toEqual([
      { holdId: 'hold-c', aspect: 'placed-twice', problem: 'the log places it twice (entry 4)' },
    ]);
  });

  it('names an active hold listed as released, and a released one listed as active', () => {
    const released = { ...custodian, releasedBy: OFFICER, releasedAt: T + 9, releaseReason: 'done' };
    expect(holdDisagreements(ORG, [released, dates, query], honestLog)).toEqual([
      {
        holdId: 'hold-c',
        aspect: 'not-released',
        problem: `the server lists it released at ${new Date(T + 9).toISOString()}, but no act in the log released it`,
      },
    ]);
    const active = {
      ...dates,
      releasedBy: null,
      releasedAt: null,
      releaseReason: null,
      releaseStatement: null,
      releaseSignature: null,
    };
    expect(holdDisagreements(ORG, [custodian, active, query], honestLog)[0]).toMatchObject({
      aspect: 'listed-active',
      problem: expect.stringMatching(
        /^the server lists it active, the log shows it released at .* \(entry 3\)$/,
      ),
    });
    const otherRelease = { ...dates, releasedAt: T + 4 };
    expect(holdDisagreements(ORG, [custodian, otherRelease, query], honestLog)[0]).toMatchObject({
      aspect: 'release',
      problem: expect.stringMatching(/which is not the release act in the log \(entry 3/),
    });
  });

  it('names a moved placing time and a widened date scope', () => {
    const backdated = { ...custodian, createdAt: T - 86_400_000 };
    expect(holdDisagreements(ORG, [backdated, dates, query], honestLog)[0]).toMatchObject({
      aspect: 'placing',
      problem: expect.stringMatching(
        /^the server lists it placed by dev-officer at 2026-02-28.*, the log by dev-officer at 2026-03-01/,
      ),
    });
    const wider = { ...dates, from: Date.UTC(2025, 0, 1) };
    expect(holdDisagreements(ORG, [custodian, wider, query], honestLog)).toEqual([
      {
        holdId: 'hold-d',
        aspect: 'scope',
        problem:
          'its listed kind (dates), matter or scope is not the one its placing act (entry 1) commits to',
      },
    ]);
  });

  it('names a hold listed under another kind or matter than it was placed with', () => {
    // A dates or custodian hold listed as a token hold without buckets would reach no bucket.
    const relabelled = [
      { ...dates, kind: 'query' as const, from: null, to: null },
      { ...custodian, kind: 'conversation' as const, custodian: null, matter: 'Other v. Other' },
      { ...query, matter: 'Another matter' },
    ];
    expect(holdDisagreements(ORG, relabelled, honestLog)).toEqual(
      ['hold-d', 'hold-c', 'hold-q'].map((holdId, i) => ({
        holdId,
        aspect: 'scope',
        problem: `its listed kind (${relabelled[i]!.kind}), matter or scope is not the one its placing act (entry ${[1, 0, 2][i]}) commits to`,
      })),
    );
    // The reverse: a token hold listed as a custodian hold.
    const asCustodian = { ...query, kind: 'custodian' as const, custodian: 'user-7', buckets: [] };
    expect(holdDisagreements(ORG, [custodian, dates, asCustodian], honestLog)).toMatchObject([
      { holdId: 'hold-q', aspect: 'scope' },
    ]);
  });

  it('binds a token hold to its bucket count: fewer listed buckets disagree, later ones do not', () => {
    const fewer = { ...query, buckets: ['bucket-1'] };
    expect(holdDisagreements(ORG, [custodian, dates, fewer], honestLog)).toMatchObject([
      { holdId: 'hold-q', aspect: 'scope' },
    ]);
    const none = { ...query, buckets: [] };
    expect(holdDisagreements(ORG, [custodian, dates, none], honestLog)).toMatchObject([
      { holdId: 'hold-q', aspect: 'scope' },
    ]);
    // Extended since to a bucket registered later (hold.extend is an audit event, not checked here).
    const extended = { ...query, buckets: ['bucket-1', 'bucket-2', 'bucket-3'] };
    expect(holdDisagreements(ORG, [custodian, dates, extended], honestLog)).toEqual([]);
  });

  it('names a time beyond what a date can show instead of throwing', () => {
    const far = { ...custodian, createdAt: 8.7e15 };
    expect(holdDisagreements(ORG, [far, dates, query], honestLog)[0]).toMatchObject({
      aspect: 'placing',
      problem: expect.stringMatching(/^the server lists it placed by dev-officer at time 8700000000000000, /),
    });
  });

  it('names a token hold its scope search could not settle within the budget, and stops there', () => {
    // Placed on 2 buckets with 2 tokens each, extended to a third: 32 candidates for 3 buckets,
    // then the second for 2.
    const extended = { ...query, buckets: ['bucket-1', 'bucket-2', 'bucket-3'] };
    const short = holdScopeSearch(ORG, 33);
    expect(holdDisagreements(ORG, [custodian, dates, extended], honestLog, short)).toEqual([
      {
        holdId: 'hold-q',
        aspect: 'scope-unchecked',
        problem:
          'the server lists it as a query hold on 3 bucket(s), which could not be matched to its placing act ' +
          "(entry 2) within the check's budget of 33 candidate act documents for token holds: its scope is unchecked",
      },
    ]);
    expect(short.tried).toBe(33);
    const enough = holdScopeSearch(ORG, 34);
    expect(holdDisagreements(ORG, [custodian, dates, extended], honestLog, enough)).toEqual([]);
    expect(enough.tried).toBe(34);
  });

  describe('release signatures', () => {
    /** The log placing `holds` and releasing those listed released, in order, each with the detail its listing implies. */
    const logOf = (holds: readonly LoggedHold[], details: Map<string, string> = new Map()): IndexedEntry[] =>
      [
        ...holds.map((h) => act(h, 'place', `kind=custodian user=user-7 matter-sha256=${sha(h.matter)}`)),
        ...holds
          .filter((h) => h.releasedAt !== null)
          .map((h) => act(h, 'release', details.get(h.holdId) ?? releaseDetail(h))),
      ].map((entry, index) => ({ index, entry }));
    const released = (holdId: string, at: number): LoggedHold => ({
      ...custodian,
      holdId,
      releasedBy: OFFICER,
      releasedAt: at,
      releaseReason: `closed ${holdId}`,
    });

    it('passes a release its officer signed, and checks it against the list in force at its log index', () => {
      const a = signedRelease(ORG, released('hold-a', T + 10), OFFICER_KEY, 0);
      expect(holdDisagreements(ORG, [a], logOf([a]))).toEqual([]);
      // Officer 1, in office when the release was logged (entry 1) and removed since: it stands.
      const other = SigningKey.generate();
      const byOne = signedRelease(ORG, released('hold-a', T + 10), other, 1);
      const removedLater = officersByIndex((i) =>
        i <= 1
          ? new Map([
              [0, OFFICER_KEY],
              [1, other],
            ])
          : new Map([[0, OFFICER_KEY]]),
      );
      expect(disagreementsWith(ORG, [byOne], logOf([byOne]), removedLater)).toEqual([]);
      // Officer 1 added only after it was logged: not an officer then.
      const addedLater = officersByIndex((i) =>
        i <= 1
          ? new Map([[0, OFFICER_KEY]])
          : new Map([
              [0, OFFICER_KEY],
              [1, other],
            ]),
      );
      expect(disagreementsWith(ORG, [byOne], logOf([byOne]), addedLater)).toEqual([
        {
          holdId: 'hold-a',
          aspect: 'release-signature',
          problem:
            "its release (entry 1) is no officer's decision: signed as officer 2, who was not an officer when it was logged",
        },
      ]);
    });

    it("names a release the server wrote itself: its own key, another hold's statement, another reason, no signature", () => {
      const a = released('hold-a', T + 10);
      const b = signedRelease(ORG, released('hold-b', T + 11), OFFICER_KEY, 0);
      const why = (h: LoggedHold, holds: LoggedHold[] = [h]) =>
        holdDisagreements(ORG, holds, logOf(holds)).map((d) => [d.holdId, d.aspect, d.problem]);
      // Signed with a key of the server's own, claiming officer 0.
      const forged = signedRelease(ORG, a, SigningKey.generate(), 0);
      expect(why(forged)).toEqual([
        [
          'hold-a',
          'release-signature',
          "its release (entry 1) is no officer's decision: its signature does not verify as officer 1's",
        ],
      ]);
      // Hold b's genuine statement and signature, listed and logged as hold a's release.
      const moved = { ...a, releaseStatement: b.releaseStatement, releaseSignature: b.releaseSignature };
      expect(why(moved)).toEqual([
        [
          'hold-a',
          'release-signature',
          "its release (entry 1) is no officer's decision: its release statement names another organisation or hold",
        ],
      ]);
      // Another org's statement for a hold of the same id.
      expect(why(signedRelease('org-other', a, OFFICER_KEY, 0))[0]?.[2]).toMatch(
        /names another organisation or hold/,
      );
      // The officer's statement, listed and logged with another reason than it names.
      const reasoned = { ...signedRelease(ORG, a, OFFICER_KEY, 0), releaseReason: 'another reason' };
      expect(why(reasoned)[0]?.[2]).toMatch(/names another reason than the listed one/);
      // A statement without its signature, and bytes that are no statement.
      expect(why({ ...signedRelease(ORG, a, OFFICER_KEY, 0), releaseSignature: null })[0]?.[2]).toMatch(
        /without a signature/,
      );
      expect(why({ ...a, releaseStatement: 'AAAA', releaseSignature: 'AAAA' })[0]?.[2]).toMatch(/malformed/);
      // No statement at all, logged after a signed release: no honest server writes that.
      expect(why(a, [b, a])).toEqual([
        [
          'hold-a',
          'release-signature',
          `the log releases it (entry 3, by ${OFFICER} at ${new Date(T + 10).toISOString()}) without an officer ` +
            'signature, after releases were signed (first at entry 2): the server released it, no officer did',
        ],
      ]);
      // Listed with a statement the act does not commit to (the act predates it): the release act is another.
      const details = new Map([['hold-a', `reason-sha256=${sha('closed hold-a')}`]]);
      const relisted = signedRelease(ORG, a, OFFICER_KEY, 0);
      expect(holdDisagreements(ORG, [relisted], logOf([relisted], details))).toMatchObject([
        { holdId: 'hold-a', aspect: 'release' },
      ]);
    });

    it('names a release logged without a statement before any signed one as released before signing', () => {
      const a = released('hold-a', T + 10);
      const b = signedRelease(ORG, released('hold-b', T + 11), OFFICER_KEY, 0);
      const found = holdDisagreements(ORG, [a, b], logOf([a, b]));
      expect(found).toEqual([
        {
          holdId: 'hold-a',
          aspect: 'unsigned-release',
          problem:
            `released without an officer signature (before signing): the log releases it (entry 2, by ${OFFICER} ` +
            `at ${new Date(T + 10).toISOString()}) as servers did before releases were signed; confirm with the ` +
            'officer who released it, then acknowledge this finding',
        },
      ]);
      // With no signed release in the log at all, too; and no officer list is asked for.
      const noList = { at: () => expect.unreachable('no statement to check') };
      expect(disagreementsWith(ORG, [a], logOf([a]), noList)).toMatchObject([{ aspect: 'unsigned-release' }]);
    });
  });
});
