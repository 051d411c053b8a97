/**
 * The event model folds an edit or delete into a message only when the message's sender made
 * it, as every device does: one from another participant changed nothing anyone saw, and
 * folded in it showed the sender's message with words they never wrote ("[EDITED]").
 */
import { describe, expect, it } from 'vitest';
import { buildConversations, directionView } from './event-model.js';
import { ALICE, BOB, body, buildTestArchive, T0 } from './export-test-support.js';

describe('export event model', () => {
  it("keeps another participant's edit and delete of a message as history, not applied", async () => {
    const m = (t: number): number => T0 + t * 60_000;
    const received = { direction: 'received' as const, sender: BOB };
    const archive = await buildTestArchive([
      { device: 'alice-phone', body: body({ messageId: 'm1', text: 'Lunch at noon?', sentAt: m(0) }) },
      {
        device: 'alice-phone',
        body: body({
          messageId: 'm2',
          kind: 'edit',
          edits: 'm1',
          text: 'hijacked',
          sentAt: m(1),
          ...received,
        }),
      },
      {
        device: 'alice-phone',
        body: body({ messageId: 'm3', kind: 'delete', deletes: 'm1', sentAt: m(2), ...received }),
      },
      // The sender's own edit still folds in.
      {
        device: 'alice-phone',
        body: body({ messageId: 'm4', kind: 'edit', edits: 'm1', text: 'Lunch at one?', sentAt: m(3) }),
      },
    ]);
    const [conv] = buildConversations(archive.input.records, directionView(ALICE, new Map()));
    const events = conv!.events;
    const msg = events.find((e) => e.id === 'm1')!;
    expect(msg.participant).toBe(ALICE);
    expect(msg.body).toBe('Lunch at one?');
    expect(msg.edits.map((e) => [e.participant, e.previous, e.next])).toEqual([
      [ALICE, 'Lunch at noon?', 'Lunch at one?'],
    ]);
    expect(msg.deleted).toBeUndefined();
    const history = events.filter((e) => e.type === 'history');
    expect(history.map((e) => [e.id, e.participant, e.body])).toEqual([
      [
        'm2',
        BOB,
        'tried to edit message m1 of another participant (not applied: only its sender may edit it): hijacked',
      ],
      [
        'm3',
        BOB,
        'tried to delete message m1 of another participant (not applied: only its sender may delete it)',
      ],
    ]);
  });
});
