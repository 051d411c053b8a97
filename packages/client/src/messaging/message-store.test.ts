/**
 * Warnings over a real local store: each gets the next number when it is recorded, whatever
 * its time, the list keeps the most recent, and a list stored before warnings had numbers is
 * numbered in order once, the same on every read.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { addWarning, listWarnings, MAX_WARNINGS, type NewWarning } from './message-store.js';
import { tempStore } from './messenger-test-support.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const w = (at: number, detail = `at ${at}`): NewWarning => ({
  at,
  kind: 'malformed',
  from: 'org-a.frank',
  detail,
});

describe('warnings', () => {
  it('are numbered in the order recorded, also in the same millisecond or stamped earlier', () => {
    const store = tempStore(dirs, 'custos-warnings-');
    expect(listWarnings(store)).toEqual([]);
    expect(addWarning(store, w(5_000, 'a'))).toEqual({ seq: 1, ...w(5_000, 'a') });
    addWarning(store, w(5_000, 'b'));
    addWarning(store, w(1_000, 'c')); // the device clock stepped back
    expect(listWarnings(store).map((x) => [x.seq, x.at, x.detail])).toEqual([
      [1, 5_000, 'a'],
      [2, 5_000, 'b'],
      [3, 1_000, 'c'],
    ]);
    store.close();
  });

  it(`keep the ${MAX_WARNINGS} most recent; numbers go on past those dropped, never reused`, () => {
    const store = tempStore(dirs, 'custos-warnings-');
    const full = Array.from({ length: MAX_WARNINGS }, (_, i) => ({ seq: i + 1, ...w(7_000) }));
    store.putJson('profile', 'warnings', full);
    store.putJson('profile', 'warning-counter', MAX_WARNINGS);
    addWarning(store, w(7_000));
    addWarning(store, w(7_000));
    const kept = listWarnings(store);
    expect(kept).toHaveLength(MAX_WARNINGS);
    expect([kept[0]?.seq, kept.at(-1)?.seq]).toEqual([3, MAX_WARNINGS + 2]);
    expect(addWarning(store, w(7_000)).seq).toBe(MAX_WARNINGS + 3);
    expect(listWarnings(store)[0]?.seq).toBe(4);
    store.close();
  });

  it('stored before they had numbers: numbered in order from 1, the same on every read, and the next follows on', () => {
    const store = tempStore(dirs, 'custos-warnings-');
    // The list as an earlier version stored it: no seq, no counter.
    store.putJson('profile', 'warnings', [w(3_000, 'old 1'), w(3_000, 'old 2'), w(2_000, 'old 3')]);
    const numbered = listWarnings(store).map((x) => [x.seq, x.detail]);
    expect(numbered).toEqual([
      [1, 'old 1'],
      [2, 'old 2'],
      [3, 'old 3'],
    ]);
    expect(listWarnings(store).map((x) => [x.seq, x.detail])).toEqual(numbered);
    expect(addWarning(store, w(1_000, 'new')).seq).toBe(4);
    expect(listWarnings(store).map((x) => [x.seq, x.detail])).toEqual([...numbered, [4, 'new']]);
    // An earlier version run on this profile again appends without a number: it follows on.
    store.putJson('profile', 'warnings', [...listWarnings(store), w(1_000, 'downgraded')]);
    expect(listWarnings(store).map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(addWarning(store, w(1_000)).seq).toBe(6);
    store.close();
  });

  it('stored before they had numbers, at the cap: an older version appending after a downgrade never gets a number already given', () => {
    const store = tempStore(dirs, 'custos-warnings-');
    /** What an earlier version does to record one: appends it unnumbered and keeps the most recent. */
    const olderAdds = (detail: string) => {
      const stored = store.getJson<object[]>('profile', 'warnings') ?? [];
      store.putJson('profile', 'warnings', [...stored, w(8_000, detail)].slice(-MAX_WARNINGS));
    };
    const full = Array.from({ length: MAX_WARNINGS }, (_, i) => w(7_000, `old ${i + 1}`));
    store.putJson('profile', 'warnings', full);
    // An application shows them all (numbers 1..500), then the profile is downgraded.
    expect(listWarnings(store).at(-1)?.seq).toBe(MAX_WARNINGS);
    olderAdds('while downgraded');
    const after = listWarnings(store);
    expect(after).toHaveLength(MAX_WARNINGS);
    expect([after[0]?.seq, after.at(-1)?.seq, after.at(-1)?.detail]).toEqual([
      2,
      MAX_WARNINGS + 1,
      'while downgraded',
    ]);
    // Downgraded again long enough to drop every numbered one: numbers still go on.
    for (let i = 0; i < MAX_WARNINGS; i++) olderAdds(`later ${i + 1}`);
    expect(listWarnings(store).map((x) => x.seq)[0]).toBe(MAX_WARNINGS + 2);
    expect(addWarning(store, w(9_000)).seq).toBe(2 * MAX_WARNINGS + 2);
    store.close();
  });
});
