/**
 * A resumed send is stored as sent only when a recipient accepted it: the sync copy to this
 * user's own devices alone does not count. Before, a resumed 1:1 send whose recipient refused
 * was stored and archived as sent once its sync copy was accepted. A send refused because an
 * earlier one is still pending carries that one (SEND_BLOCKED), for the UI to name it.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, isClientError } from '../errors.js';
import type { ApiClient } from '../transport/api-client.js';
import type { LocalStore } from '../store/local-store.js';
import { encodeContent, newMessageId, type MessageContent } from './content.js';
import { directConversation } from './events.js';
import { countingCapture, daveMessenger, DAVE, FRANK, tempStore } from './messenger-test-support.js';
import { pendingSends, putPendingSend } from './send-outbox.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Keeps dave's send of `content` to frank (and its sync copy to dave's other device) with the
 * request to `to` in flight, as a send whose answer never came leaves it: `next` is the
 * target being sent to.
 */
function keepDaveToFrank(
  store: LocalStore,
  content: MessageContent,
  o: { next: number; to: typeof DAVE; deviceId: string; tries?: number },
): void {
  store.transaction(() =>
    putPendingSend(store, {
      ord: 1,
      content,
      conv: directConversation(DAVE, FRANK),
      since: 1_000,
      padded: encodeContent(content),
      syncCopy: encodeContent(content),
      targets: [
        { to: FRANK, sync: false },
        { to: DAVE, sync: true },
      ],
      next: o.next,
      hashes: [],
      delivered: 0,
      inFlight: {
        to: o.to,
        key: 'k',
        envelopes: [{ deviceId: o.deviceId, type: 1, content: 'AA' }],
        hashes: [new Uint8Array(32)],
        sentAt: 1_000,
        ...(o.tries === undefined ? {} : { tries: o.tries }),
      },
    }),
  );
}

describe('completing a resumed send', () => {
  it('drops a send only its sync copy reached (the recipient refused it), without sending the sync copy', async () => {
    const store = tempStore(dirs, 'custos-completion-');
    const requests: string[] = [];
    // Any request the messenger makes is accepted: only the recipient's refusal (earlier) stops it.
    const api = {
      request: (method: string, path: string) => {
        requests.push(`${method} ${path}`);
        return Promise.resolve({ serverTime: 5_000 });
      },
    } as unknown as ApiClient;
    const { capture, captured } = countingCapture();
    const messenger = daveMessenger(store, { api, capture, clock: () => 9_000 });
    const content: MessageContent = {
      kind: 'message',
      text: 'refused',
      id: newMessageId(),
      timestamp: 1_000,
    };
    // Resumed after frank refused (skipped with a warning); the sync copy's request is kept.
    keepDaveToFrank(store, content, { next: 1, to: DAVE, deviceId: 'dave-2' });
    expect(await messenger.resumePending()).toEqual([]);
    expect(requests).toEqual([]);
    expect(captured).toEqual([]);
    expect(pendingSends(store)).toEqual([]);
    store.close();
  });

  it('refuses a later send SEND_BLOCKED while the earlier one gets no answer, carrying the pending send', async () => {
    const store = tempStore(dirs, 'custos-completion-');
    // The server cannot be reached: the kept request is tried again and stays pending.
    const api = {
      request: () => Promise.reject(new ClientError('NETWORK', 'GET /v1/x: the request failed')),
    } as unknown as ApiClient;
    const { capture } = countingCapture();
    const messenger = daveMessenger(store, { api, capture, clock: () => 9_000 });
    const content: MessageContent = { kind: 'message', text: 'stuck', id: newMessageId(), timestamp: 1_000 };
    keepDaveToFrank(store, content, { next: 0, to: FRANK, deviceId: 'frank-1', tries: 2 });
    const refused: unknown = await messenger
      .send(FRANK, { kind: 'message', text: 'later' })
      .catch((e: unknown) => e);
    expect(isClientError(refused, 'SEND_BLOCKED')).toBe(true);
    const [pending] = messenger.pendingSends();
    expect(pending).toMatchObject({ id: content.id, kind: 'message', recipients: [FRANK], since: 1_000 });
    expect((refused as ClientError).pending).toEqual(pending);
    store.close();
  });
});
