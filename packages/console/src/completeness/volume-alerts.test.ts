import { describe, expect, it } from 'vitest';
import type { VerifiedAct } from '../audit/officer-audit.js';
import { volumeAlerts } from './volume-alerts.js';

const DAY1 = Date.UTC(2026, 10, 27, 9);
const DAY2 = Date.UTC(2026, 10, 28, 0, 0, 1);

let index = 100;
function act(kind: string, actor: string, time: number, detail: string | null): VerifiedAct {
  return {
    index: index++,
    time,
    actor,
    kind,
    type: 'audit-event',
    subject: 'org',
    detail,
    text: kind,
    document: detail !== null,
    entryHash: '00',
  };
}

describe('volumeAlerts', () => {
  it('sums searches and the records they returned and exported, per device and UTC day', () => {
    const acts = [
      act('archive-search', 'dev-a', DAY1, 'tokens=2 results=40'),
      act('archive-search', 'dev-a', DAY1 + 1000, 'tokens=1 results=30'),
      act('archive-export', 'dev-a', DAY1 + 2000, 'format=rsmf records=50 manifest=ab'),
      act('archive-search', 'dev-a', DAY2, 'tokens=1 results=100'),
      act('archive-search', 'dev-b', DAY1, 'tokens=1 results=5'),
    ];
    const alerts = volumeAlerts(acts, { searches: 1, recordsViewed: 100 });
    expect(alerts).toEqual([
      {
        kind: 'volume',
        deviceId: 'dev-a',
        day: '2026-11-27',
        measure: 'records-viewed',
        count: 120,
        limit: 100,
        uncounted: 0,
        firstLogIndex: acts[0]!.index,
        lastLogIndex: acts[2]!.index,
      },
      {
        kind: 'volume',
        deviceId: 'dev-a',
        day: '2026-11-27',
        measure: 'searches',
        count: 2,
        limit: 1,
        uncounted: 0,
        firstLogIndex: acts[0]!.index,
        lastLogIndex: acts[1]!.index,
      },
    ]);
  });

  it('is quiet at the limit, and checks record reads only when a limit is given', () => {
    const acts = [
      act('archive-search', 'dev-a', DAY1, 'tokens=1 results=100'),
      act('archive-read', 'dev-a', DAY1, 'results=5000'),
    ];
    expect(volumeAlerts(acts, { searches: 1, recordsViewed: 100 })).toEqual([]);
    expect(volumeAlerts(acts, { recordsRead: 4999 }).map((a) => [a.measure, a.count])).toEqual([
      ['records-read', 5000],
    ]);
  });

  it('an act whose document was withheld counts as an act and alerts as uncounted, below any limit', () => {
    const acts = [act('archive-search', 'dev-a', DAY1, null), act('archive-export', 'dev-a', DAY1, null)];
    const alerts = volumeAlerts(acts, { searches: 10, recordsViewed: 10_000 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ measure: 'records-viewed', count: 0, uncounted: 2 });
  });

  it('ignores other acts and details that do not carry the count', () => {
    const acts = [
      act('hold-create', 'dev-a', DAY1, 'kind=dates results=99999'),
      act('archive-search', 'dev-a', DAY1, 'tokens=1 myresults=99999'),
    ];
    expect(volumeAlerts(acts, { recordsViewed: 10 })).toMatchObject([{ count: 0, uncounted: 1 }]);
  });
});
