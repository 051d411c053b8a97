/**
 * Each warning is shown once: `takeNewWarnings` remembers the number (`seq`) of the last one
 * shown, so warnings recorded in the same millisecond, or stamped before the last shown (a
 * device clock stepping back), are still shown; a profile upgraded from the version that
 * remembered a time shows exactly what that version had not shown yet.
 */
import { describe, expect, it } from 'vitest';
import type { Warning } from '@custos/client';
import { memorySettings } from './testing/memory-settings.js';
import { takeNewWarnings, takeWarningsOf } from './warning-display.js';

const T = Date.UTC(2026, 10, 28, 4, 0);

/**
 * A profile's warnings as the SDK gives them (its own tests cover the numbering over a real
 * store, message-store.test.ts): each recorded under the next number, the most recent `keep`
 * kept.
 */
class WarningLog {
  readonly settings = memorySettings();
  #list: Warning[] = [];
  #last = 0;
  constructor(private readonly keep = 500) {}
  warnings(): Warning[] {
    return [...this.#list];
  }
  record(at: number, detail: string): Warning {
    const w: Warning = { seq: ++this.#last, at, kind: 'delivery-failed', from: 'o.bob', detail };
    this.#list = [...this.#list, w].slice(-this.keep);
    return w;
  }
}

const details = (ws: readonly Warning[]): string[] => ws.map((w) => w.detail);

describe('takeNewWarnings', () => {
  it('shows warnings recorded in the same millisecond, once each', () => {
    const log = new WarningLog();
    log.record(T, 'a');
    expect(details(takeNewWarnings(log))).toEqual(['a']);
    log.record(T, 'b');
    log.record(T, 'c');
    expect(details(takeNewWarnings(log))).toEqual(['b', 'c']);
    log.record(T, 'd');
    expect(details(takeNewWarnings(log))).toEqual(['d']);
    expect(takeNewWarnings(log)).toEqual([]);
  });

  it('shows a warning stamped before the last one shown (the device clock stepped back)', () => {
    const log = new WarningLog();
    log.record(T, 'a');
    expect(details(takeNewWarnings(log))).toEqual(['a']);
    log.record(T - 60_000, 'earlier by the clock');
    expect(details(takeNewWarnings(log))).toEqual(['earlier by the clock']);
    expect(takeNewWarnings(log)).toEqual([]);
  });

  it('still shows new warnings once the list drops its oldest (the SDK keeps the most recent)', () => {
    const log = new WarningLog(3);
    for (const d of ['a', 'b', 'c']) log.record(T, d);
    expect(details(takeNewWarnings(log))).toEqual(['a', 'b', 'c']);
    for (const d of ['d', 'e']) log.record(T, d);
    expect(details(takeNewWarnings(log))).toEqual(['d', 'e']);
    for (const d of ['f', 'g', 'h', 'i']) log.record(T, d); // more than the list keeps
    expect(details(takeNewWarnings(log))).toEqual(['g', 'h', 'i']);
    expect(takeNewWarnings(log)).toEqual([]);
  });

  it('on a profile upgraded from the version that kept the time of the last shown, shows exactly its unshown warnings, once', () => {
    const log = new WarningLog();
    log.record(T, 'shown 1');
    log.record(T + 1, 'shown 2');
    log.record(T + 2, 'not shown 1');
    log.record(T + 3, 'not shown 2');
    log.settings.set('cli-warnings-shown-at', T + 1);
    expect(details(takeNewWarnings(log))).toEqual(['not shown 1', 'not shown 2']);
    expect(takeNewWarnings(log)).toEqual([]);
    // From now on by number: one in the same millisecond as the last shown is shown.
    log.record(T + 3, 'new');
    expect(details(takeNewWarnings(log))).toEqual(['new']);
  });

  it('keeps the time of the newest shown for an earlier version run afterwards: it shows only what is new', () => {
    const log = new WarningLog();
    log.record(T + 1, 'a');
    log.settings.set('cli-warnings-shown-at', T);
    expect(details(takeNewWarnings(log))).toEqual(['a']);
    expect(log.settings.get('cli-warnings-shown-at')).toBe(T + 1);
    log.record(T + 5, 'b');
    log.record(T + 2, 'c, the clock stepped back');
    expect(details(takeNewWarnings(log))).toEqual(['b', 'c, the clock stepped back']);
    // The latest time shown, not the newest warning's: an earlier version shows neither again.
    expect(log.settings.get('cli-warnings-shown-at')).toBe(T + 5);
    const legacyUnshown = (at: number) => log.warnings().filter((w) => w.at > at);
    expect(legacyUnshown(log.settings.get<number>('cli-warnings-shown-at')!)).toEqual([]);
    // A new profile too: the first warnings shown set it.
    const fresh = new WarningLog();
    fresh.record(T, 'first');
    takeNewWarnings(fresh);
    expect(fresh.settings.get('cli-warnings-shown-at')).toBe(T);
  });

  it('on an upgraded profile with no warnings, shows the next one', () => {
    const log = new WarningLog();
    log.settings.set('cli-warnings-shown-at', T);
    expect(takeNewWarnings(log)).toEqual([]);
    log.record(T, 'first');
    expect(details(takeNewWarnings(log))).toEqual(['first']);
  });
});

describe('takeWarningsOf', () => {
  it('tells what an action recorded from earlier unshown warnings by number — same millisecond, list full — and marks both shown', async () => {
    const log = new WarningLog(3);
    log.record(T, 'shown');
    takeNewWarnings(log);
    log.record(T, 'unshown');
    log.record(T, 'also unshown');
    const { result, added, earlier } = await takeWarningsOf(log, () => {
      log.record(T, 'by the action'); // drops 'shown' from the full list
      return Promise.resolve(7);
    });
    expect(result).toBe(7);
    expect(details(added)).toEqual(['by the action']);
    expect(details(earlier)).toEqual(['unshown', 'also unshown']);
    expect(takeNewWarnings(log)).toEqual([]);
    // Nothing recorded: nothing added, nothing earlier.
    expect(await takeWarningsOf(log, () => Promise.resolve(0))).toEqual({
      result: 0,
      added: [],
      earlier: [],
    });
  });

  it('marks nothing shown when the action fails', async () => {
    const log = new WarningLog();
    log.record(T, 'unshown');
    const failed = takeWarningsOf(log, () => {
      log.record(T, 'recorded before failing');
      return Promise.reject(new Error('refused'));
    });
    await expect(failed).rejects.toThrow('refused');
    expect(details(takeNewWarnings(log))).toEqual(['unshown', 'recorded before failing']);
  });
});
