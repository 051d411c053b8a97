/**
 * Discarding a pending send (Messenger.discardPendingSend) over a real local store: it gives
 * up on exactly the send the caller showed, and what it records — not whether it returns an
 * event — says whether the message is possibly delivered.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { encodeContent, newMessageId, type MessageContent } from './content.js';
import { directConversation, type Conversation } from './events.js';
import { listWarnings } from './message-store.js';
import { countingCapture, daveMessenger, DAVE, FRANK, tempStore } from './messenger-test-support.js';
import { userAddress, type PeerUser } from './peers.js';
import { pendingSends, putPendingSend, type PendingSend } from './send-outbox.js';

const GINA: PeerUser = { orgId: 'org-a', userId: 'gina' };
const TEAM = `g.${'t'.repeat(22)}`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A pending message `text` in `conv` to `to` (then the sync copy), none answered yet. */
function pendingMessage(
  store: LocalStore,
  ord: number,
  text: string,
  conv: Conversation,
  to: PeerUser[],
): PendingSend {
  const content: MessageContent = {
    kind: 'message',
    text,
    id: newMessageId(),
    timestamp: 1_000 + ord,
    ...(conv.group === undefined ? {} : { group: conv.group }),
  };
  const p: PendingSend = {
    ord,
    content,
    conv,
    since: 1_000 + ord,
    padded: encodeContent(content),
    syncCopy: encodeContent(content),
    targets: [...to.map((u) => ({ to: u, sync: false })), { to: DAVE, sync: true }],
    next: 0,
    hashes: [],
    delivered: 0,
  };
  store.transaction(() => putPendingSend(store, p));
  return p;
}

/** `p` after its first recipient accepted it, its next request `inFlight` (to `to`) still unanswered. */
function acceptedByFirst(
  store: LocalStore,
  p: PendingSend,
  inFlight: { readonly to: PeerUser; readonly tries: number; readonly reached: boolean },
): void {
  store.transaction(() =>
    putPendingSend(store, {
      ...p,
      next: 1,
      delivered: 1,
      hashes: [new Uint8Array(32)],
      serverTime: 5_000,
      inFlight: { ...inFlight, key: 'k', envelopes: [], hashes: [], sentAt: 2_000 },
    }),
  );
}

describe('discarding a pending send', () => {
  it('discards only the send the caller showed: another oldest by then is PENDING_CHANGED, nothing discarded', async () => {
    const store = tempStore(dirs, 'custos-discard-');
    const { capture, captured } = countingCapture();
    const messenger = daveMessenger(store, { capture, clock: () => 9_000 });
    const conv = directConversation(DAVE, FRANK);
    const first = pendingMessage(store, 1, 'first', conv, [FRANK]);
    pendingMessage(store, 2, 'second', conv, [FRANK]);
    const shown = messenger.pendingSends();
    expect(shown.map((p) => p.id)).toEqual([first.content.id, expect.any(String)]);
    // The first completes elsewhere (a send or sync of this process) while the user is asked.
    store.transaction(() => store.delete('send-outbox', '1'));
    const e: unknown = await messenger.discardPendingSend(shown[0]!.id).catch((x: unknown) => x);
    expect(isClientError(e, 'PENDING_CHANGED')).toBe(true);
    expect(messenger.pendingSends().map((p) => p.id)).toEqual([shown[1]!.id]);
    expect(listWarnings(store)).toEqual([]);
    expect(captured).toEqual([]);
    // The one shown, still oldest: discarded (nothing of it reached the server: dropped).
    expect(await messenger.discardPendingSend(shown[1]!.id)).toBeUndefined();
    expect(pendingSends(store)).toEqual([]);
    // Nothing pending any more: the send shown is not discarded either.
    const gone: unknown = await messenger.discardPendingSend(shown[1]!.id).catch((x: unknown) => x);
    expect(isClientError(gone, 'PENDING_CHANGED')).toBe(true);
    store.close();
  });

  it('a group send a member accepted, discarded at the next member (not reached), returns its event with delivery-failed warnings only: not possibly delivered', async () => {
    const store = tempStore(dirs, 'custos-discard-');
    const { capture, captured } = countingCapture();
    const messenger = daveMessenger(store, { capture, clock: () => 9_000 });
    const conv: Conversation = {
      id: TEAM,
      group: TEAM,
      participants: [DAVE, FRANK, GINA].map(userAddress).sort(),
      peer: DAVE,
    };
    const p = pendingMessage(store, 1, 'to the team', conv, [FRANK, GINA]);
    // Frank accepted; gina's try was rate limited (429: it cannot have reached the relay).
    acceptedByFirst(store, p, { to: GINA, tries: 0, reached: false });
    const event = await messenger.discardPendingSend(p.content.id);
    expect(event?.content.text).toBe('to the team');
    expect(captured).toHaveLength(1);
    // Both recorded in the same millisecond of the clock, each under its own number.
    expect(listWarnings(store).map((w) => [w.seq, w.at, w.kind, w.from])).toEqual([
      [1, 9_000, 'delivery-failed', userAddress(GINA)],
      [2, 9_000, 'delivery-failed', userAddress(DAVE)],
    ]);
    store.close();
  });

  it("a direct send Frank accepted whose copy to own devices was in flight: the one delivery-uncertain warning is about the sender's own address, not Frank", async () => {
    const store = tempStore(dirs, 'custos-discard-');
    const { capture } = countingCapture();
    const messenger = daveMessenger(store, { capture, clock: () => 9_000 });
    const p = pendingMessage(store, 1, 'to frank', directConversation(DAVE, FRANK), [FRANK]);
    // Frank accepted; the sync copy's request may be at the server (its answer was lost).
    acceptedByFirst(store, p, { to: DAVE, tries: 1, reached: true });
    const event = await messenger.discardPendingSend(p.content.id);
    expect(event?.content.text).toBe('to frank');
    // What `custos pending --discard` judges by: no warning about Frank (he has it).
    expect(listWarnings(store).map((w) => [w.kind, w.from])).toEqual([
      ['delivery-uncertain', userAddress(DAVE)],
    ]);
    store.close();
  });
});
