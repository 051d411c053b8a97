/** `custos console search` command lines: dates as inclusive UTC days, addresses, kinds, refusals. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../command-flags.js';
import type { OfficerSearchResult, VerifiedHit } from '@custos/console';
import { handedInMark, hitJson, humanLines, INDEX_CAVEAT, searchQueryOf } from './console-search.js';

const flags = (o: Record<string, string | true>) => new Map(Object.entries(o));
const NOW = Date.UTC(2026, 10, 26, 15, 30);

describe('console search command line', () => {
  it('turns dates into inclusive UTC day bounds, --from alone running to today', () => {
    expect(searchQueryOf(flags({ from: '2026-01-01', to: '2026-01-31' }), ['budget'], NOW)).toMatchObject({
      text: 'budget',
      from: Date.UTC(2026, 0, 1),
      to: Date.UTC(2026, 1, 1) - 1,
    });
    expect(searchQueryOf(flags({ from: '2026-11-01' }), ['x'], NOW).to).toBe(Date.UTC(2026, 10, 27) - 1);
  });

  it('maps USERID@ORGID participants to the ORGID.USERID records use; keeps that form', () => {
    const user = 'uuuuuuuuuuuuuuuuuuuuu1';
    const org = 'oooooooooooooooooooooo';
    const other = `${'p'.repeat(22)}.${'q'.repeat(22)}`;
    const q = searchQueryOf(flags({ participant: `${user}@${org}, ${other}` }), [], NOW);
    expect(q.participants).toEqual([`${org}.${user}`, other]);
  });

  it('refuses a name as a participant, saying where addresses are (an officer has no address book)', () => {
    // A name used to go to the server as is, match nothing and print "0 match(es)".
    for (const p of ['alice', 'uuuuuuuuuuuuuuuuuuuuu1', 'alice@oooooooooooooooooooooo']) {
      expect(() => searchQueryOf(flags({ participant: p }), [], NOW), p).toThrow(
        /--participant .*: not an address; .*custos admin users/,
      );
    }
  });

  it('joins the words, keeps phrases, parses kinds and the match switches', () => {
    const q = searchQueryOf(
      flags({ kind: 'message,edit', 'match-case': true }),
      ['"budget', 'review"', 'now'],
      NOW,
    );
    expect(q).toMatchObject({
      text: '"budget review" now',
      kinds: ['message', 'edit'],
      matchCase: true,
      matchDiacritics: false,
    });
  });

  it('refuses what it cannot search', () => {
    for (const [f, pos] of [
      [{}, []],
      [{ from: '2026-02-30' }, ['x']],
      [{ from: '26-01-01' }, ['x']],
      [{ to: '2026-01-01' }, ['x']],
      [{ from: '2026-02-01', to: '2026-01-01' }, ['x']],
      [{ kind: 'telegram' }, ['x']],
    ] as const) {
      expect(() => searchQueryOf(flags(f), pos, NOW)).toThrow(UsageError);
    }
  });

  it('says what the index cannot find when a search finds nothing', () => {
    // "0 match(es)" alone read as "no such records", although records sealed before their
    // device held its index key are never in the index.
    const none = {
      hits: [],
      threads: [],
      next: null,
      bucketsSearched: ['standard-2026-11'],
      bucketsWithoutWrap: [],
      filteredOut: 0,
    } as unknown as OfficerSearchResult;
    expect(humanLines(none)).toEqual([
      '0 match(es) in 0 conversation(s); buckets searched: standard-2026-11.',
      INDEX_CAVEAT,
    ]);
    expect(INDEX_CAVEAT).toContain("'custos console export --device' reaches them");
    expect(humanLines({ ...none, next: 'c1' }).at(-1)).toBe('More: add --cursor c1');
  });

  it('shows a sender by their name from --names, terminal-safe, and by address when unnamed', () => {
    const org = 'oooooooooooooooooooooo';
    const hit = (user: string) => ({
      body: {
        kind: 'message',
        text: 'The budget review',
        sender: `${org}.${user}`,
        participants: [],
        sentAt: Date.UTC(2026, 10, 2, 10),
      },
      header: { device: 'dev', seq: 3 },
      log: { index: 7 },
      signature: 'verified',
    });
    const named = 'aaaaaaaaaaaaaaaaaaaaa1';
    const unnamed = 'bbbbbbbbbbbbbbbbbbbbb2';
    const hits = [hit(named), hit(unnamed)];
    const r = {
      hits,
      threads: [{ conversationId: 'c1', hits }],
      next: null,
      bucketsSearched: ['standard-2026-11'],
      bucketsWithoutWrap: [],
      filteredOut: 0,
    } as unknown as OfficerSearchResult;
    // A names file is checked on reading; the output is escaped all the same.
    const lines = humanLines(r, new Map([[`${org}.${named}`, 'Alice \u001b[31mExample']]));
    expect(lines[1]).toContain(`Z  Alice \\x1b[31mExample (${named}@${org}): The budget review  [dev#3`);
    expect(lines[2]).toContain(`Z  ${unnamed}@${org}: The budget review`);
    expect(humanLines(r)[1]).toContain(`Z  ${named}@${org}: The budget review`);
  });

  it('marks a match a revoked device handed in after its revocation, in text and --json', () => {
    const org = 'oooooooooooooooooooooo';
    const hit = (afterRevocation?: number) =>
      ({
        body: {
          kind: 'message',
          conversationId: 'c1',
          messageId: 'm1',
          direction: 'sent',
          text: 'The budget review',
          sender: `${org}.aaaaaaaaaaaaaaaaaaaaa1`,
          participants: [],
          sentAt: Date.UTC(2026, 10, 2, 10),
        },
        header: { device: 'dev', seq: 3 },
        bucketId: 'standard-2026-11',
        hash: new Uint8Array(32),
        log: { index: 7 },
        signature: 'verified',
        ...(afterRevocation === undefined ? {} : { afterRevocation }),
      }) as unknown as VerifiedHit;
    const hits = [hit(), hit(4)];
    const r = {
      hits,
      threads: [{ conversationId: 'c1', hits }],
      next: null,
      bucketsSearched: ['standard-2026-11'],
      bucketsWithoutWrap: [],
      filteredOut: 0,
    } as unknown as OfficerSearchResult;
    const lines = humanLines(r);
    expect(lines[1]).toMatch(/log 7, signature verified, proof verified\]$/);
    expect(lines[2]).toMatch(
      /log 7, signature verified, proof verified, HANDED IN after the device's revocation \(log 4\): a claim of a revoked device\]$/,
    );
    expect(hitJson(hits[0]!, undefined).handedInAfterRevocation).toBeNull();
    expect(hitJson(hits[1]!, undefined).handedInAfterRevocation).toBe(4);
    // `console review next` adds the same words to its record line.
    expect(handedInMark(hits[0]!)).toBe('');
    expect(handedInMark(hits[1]!)).toBe(
      ", HANDED IN after the device's revocation (log 4): a claim of a revoked device",
    );
  });
});
