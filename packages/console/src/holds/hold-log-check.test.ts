/**
 * holdDisagreements: the server's hold listing against the `hold` entries of the verified
 * log, built as the server builds them (server holds/hold-acts.ts: the entry's hash commits
 * to the act's document). An honest listing agrees; a server that hides an active hold,
 * lists one the log never placed, calls an active hold released, backdates a placement or
 * widens a date hold's scope is named, hold by hold; a token hold whose scope the run's budget
 * could not settle is named as unchecked, never passed.
 */
import { createHash } from 'node:crypto';
import type { LogEntry } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { holdDisagreements, type LoggedHold } from './hold-log-check.js';
import { holdScopeSearch } from './hold-scope-search.js';
import { holdActEntry } from './hold-test-support.js';

const ORG = 'org-holds';
const OFFICER = 'dev-officer';
const T = Date.UTC(2026, 2, 1);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: LoggedHold = {
  holdId: 'hold-c',
  kind: 'custodian',
  matter: 'Smith v. Agency',
  custodian: 'user-7',
  from: null,
  to: null,
  buckets: [],
  createdBy: OFFICER,
  createdAt: T,
  releasedBy: null,
  releasedAt: null,
  releaseReason: null,
};
const dates: LoggedHold = {
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
};
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

const honestLog: IndexedEntry[] = [
  act(custodian, 'place', `kind=custodian user=user-7 matter-sha256=${sha(custodian.matter)}`),
  act(dates, 'place', `kind=dates from=${dates.from} to=${dates.to} matter-sha256=${sha(dates.matter)}`),
  act(query, 'place', `kind=query buckets=2 tokens=4 matter-sha256=${sha(query.matter)}`),
  act(dates, 'release', `reason-sha256=${sha('matter closed')}`),
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
    const active = { ...dates, releasedBy: null, releasedAt: null, releaseReason: null };
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
});
