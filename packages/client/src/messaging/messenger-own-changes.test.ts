/**
 * Only a message's sender may edit or delete it. Receivers ignore anyone else's change, so
 * the sending device refuses it before anything is delivered or archived: before this, `custos
 * send --edit` of a peer's message printed "Sent edit", the peer's sync printed "edited", the
 * archive recorded an edit, and no device changed the message.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { newMessageId } from './content.js';
import { saveGroup } from './groups.js';
import { applyEvent, getMessage, putMessage, type StoredMessage } from './message-store.js';
import type { Messenger } from './messenger.js';
import { daveMessenger, DAVE, FRANK, tempStore } from './messenger-test-support.js';
import { directConversationId } from './peers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Dave's messenger over a real local store; it has no server, so any delivery would throw. */
function dave(): { store: LocalStore; messenger: Messenger } {
  const store = tempStore(dirs, 'custos-own-');
  return { store, messenger: daveMessenger(store, { clock: () => 1_000 }) };
}

/** A message frank sent, as dave's device stored it on receipt. */
function fromFrank(store: LocalStore, group?: string): StoredMessage {
  const m: StoredMessage = {
    id: newMessageId(),
    conversation: group ?? directConversationId(DAVE, FRANK),
    peer: FRANK,
    ...(group === undefined ? {} : { group }),
    from: FRANK,
    direction: 'received',
    sentAt: 900,
    receivedAt: 950,
    text: 'lunch at noon?',
    reactions: [],
  };
  putMessage(store, m);
  return m;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isClientError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('the send was not refused');
}

describe("a peer's message cannot be edited or deleted from this device", () => {
  it('refuses an edit and a delete of a 1:1 message another user sent, before delivery', async () => {
    const { store, messenger } = dave();
    const m = fromFrank(store);
    expect(await refusal(messenger.send(FRANK, { kind: 'edit', edits: m.id, text: 'hijacked' }))).toBe(
      `NOT_OWN_MESSAGE: only its sender may edit a message, and #${m.id.slice(0, 8)} was sent by another user`,
    );
    expect(await refusal(messenger.send(FRANK, { kind: 'delete', deletes: m.id }))).toMatch(
      /^NOT_OWN_MESSAGE: only its sender may delete a message/,
    );
    expect(getMessage(store, m.id)).toEqual(m);
  });

  it('refuses the same in a group', async () => {
    const { store, messenger } = dave();
    const group = 'g.AAAAAAAAAAAAAAAAAAAAAA';
    saveGroup(store, { id: group, name: 'Ops', members: [DAVE, FRANK], revision: 1, active: true });
    const m = fromFrank(store, group);
    expect(await refusal(messenger.sendToGroup(group, { kind: 'edit', edits: m.id, text: 'x' }))).toMatch(
      /^NOT_OWN_MESSAGE/,
    );
  });

  it('still ignores, on receipt, a change of a message by anyone but its sender', () => {
    // What a device that skips the refusal would send: its peers' stores keep the message.
    const { store } = dave();
    const m = fromFrank(store);
    expect(
      applyEvent(store, { id: newMessageId(), timestamp: 1, kind: 'edit', edits: m.id, text: 'x' }, DAVE),
    ).toBe(false);
    expect(applyEvent(store, { id: newMessageId(), timestamp: 1, kind: 'delete', deletes: m.id }, DAVE)).toBe(
      false,
    );
    expect(getMessage(store, m.id)).toEqual(m);
    expect(
      applyEvent(store, { id: newMessageId(), timestamp: 1, kind: 'edit', edits: m.id, text: 'x' }, FRANK),
    ).toBe(true);
    expect(getMessage(store, m.id)?.text).toBe('x');
  });
});
