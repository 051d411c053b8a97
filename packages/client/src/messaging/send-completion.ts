/**
 * Completing a send from its outbox row (send-outbox.ts): each remaining recipient's
 * delivery keeps its request in the row before sending it (delivery.ts), each answer is
 * noted in the row, and the last one stores the message, captures its archive record with
 * the hashes of every envelope the server accepted, and deletes the row, in one transaction
 * — once per message, whichever try completes it.
 *
 * A refusal (the server stored nothing under the request's key) fails a fresh send while no
 * recipient has accepted it: the row goes, and the caller gets the error as before. After a
 * recipient accepted it — or in a group, or for a send resumed after the caller was told it
 * is pending — a refused recipient is a `delivery-failed` warning and the rest go on: the
 * envelopes already accepted must be recorded and archived. A resumed send that no recipient
 * accepted is dropped with that warning. A failure that is no refusal (no answer, a
 * transient one, a local error) drops the row only while nothing of the message can be at
 * the server; otherwise the row stays and the send is SEND_PENDING.
 */
import type { RecordBody } from '@custos/core';
import { ClientError, isClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';
import {
  deliver,
  transientFailure,
  type Delivered,
  type DeliveryContext,
  type UncertainReason,
} from './delivery.js';
import type { MessageContent } from './content.js';
import { applyContent, recordFor, type Conversation } from './events.js';
import { getGroup, judgeGroupUpdate } from './groups.js';
import { addWarning } from './message-store.js';
import { IdentityChangedError, userAddress, type PeerUser } from './peers.js';
import {
  deletePendingSend,
  putPendingSend,
  storedPendingSend,
  type InFlightSend,
  type PendingSend,
} from './send-outbox.js';

/** What completing a send works with (the messenger's parts). */
export interface SendCompletionContext {
  readonly delivery: DeliveryContext;
  readonly stores: SignalStores;
  /**
   * Captures the record `body()` builds, inside the caller's transaction: its sequence
   * number, or null (building nothing) when the organisation does not archive.
   */
  readonly capture: (body: () => RecordBody) => number | null;
}

/** A completed send: the message stored and its archive record's number. */
export interface CompletedSend {
  readonly content: MessageContent;
  /** The conversation as applied (a superseded own group change without its change). */
  readonly conv: Conversation;
  readonly seq: number | null;
}

/** The delivery-uncertain warning's words, by why the kept request was given up on. */
const UNCERTAIN_DETAIL: Readonly<Record<UncertainReason, string>> = {
  'key-expired':
    'a send kept longer than the server remembers it was refused when sent again: it may not have been delivered',
  tries:
    'a send kept after its answer was lost got no answer confirming it however often it was sent again: it may not have been delivered',
  discarded:
    'a pending send was discarded before the server confirmed it: it may or may not have been delivered',
};

/**
 * `conv` as an own group change applies it here, on completion: its state was planned when
 * the send began, and a resumed change may complete after this device received newer
 * updates of the group. Saving the plan then would move the group backwards. This device
 * judges its own update as every member judges it on receipt (a higher revision, or the same
 * revision with the higher state hash, from a current member): when it loses, the members
 * keep the newer state too, so keeping it here is what converges. The change is still stored
 * and recorded as sent.
 */
function ownChangeToApply(
  store: LocalStore,
  me: PeerUser,
  content: MessageContent,
  conv: Conversation,
): Conversation {
  if (content.kind !== 'group-update' || conv.change === undefined || content.groupState === undefined)
    return conv;
  const id = conv.change.next.id;
  const judged = judgeGroupUpdate(getGroup(store, id), id, content.groupState, me, me);
  if (!('refused' in judged)) return conv;
  const { change: _superseded, ...kept } = conv;
  return kept;
}

/** `p` without its request in flight. */
function settled(p: PendingSend): PendingSend {
  const { inFlight: _settled, ...rest } = p;
  return rest;
}

/**
 * Runs the send `start` to its end. Throws SEND_PENDING while the server does not answer
 * (the row keeps what may be at the server); undefined for a resumed send nobody accepted.
 * `discard` finishes it without sending: a request in flight is recorded as possibly
 * delivered (delivery-uncertain), every recipient not reached yet is a delivery-failed warning.
 */
export async function completeSend(
  c: SendCompletionContext,
  start: PendingSend,
  resumed: boolean,
  discard = false,
): Promise<CompletedSend | undefined> {
  const { store, clock, me } = c.delivery;
  let p = start;
  const keep = (inFlight: InFlightSend | undefined) => {
    p = inFlight === undefined ? settled(p) : { ...p, inFlight };
    putPendingSend(store, p);
  };
  while (p.next < p.targets.length) {
    const t = p.targets[p.next]!;
    // A resumed send no recipient accepted is dropped: no sync copy of it to own devices.
    if (t.sync && resumed && p.delivered === 0) break;
    try {
      const res: Delivered = discard
        ? discarded(p)
        : await deliver(c.delivery, t.to, t.sync ? p.syncCopy! : p.padded, keep, p.inFlight);
      const reason = res.uncertain;
      if (reason !== undefined)
        store.transaction(() =>
          addWarning(store, {
            at: clock(),
            kind: 'delivery-uncertain',
            from: userAddress(t.to),
            detail: UNCERTAIN_DETAIL[reason],
          }),
        );
      p = {
        ...settled(p),
        next: p.next + 1,
        hashes: [...p.hashes, ...res.hashes],
        // Only recipients count: the sync copy alone does not make the message sent.
        delivered: p.delivered + (res.hashes.length > 0 && !t.sync ? 1 : 0),
        serverTime: p.serverTime ?? res.serverTime,
      };
      // The answer, noted before the next recipient: without it a resume would send this
      // request again, which the server answers as before (within its key retention), so the
      // note may be lost to a power cut (not flushed). The last answer goes with the message.
      if (p.delivered > 0 && p.next < p.targets.length) {
        const answered = p;
        store.transactionUnflushed(() => putPendingSend(store, answered));
      }
    } catch (e) {
      if (isClientError(e, 'SEND_PENDING')) throw e;
      // What the failed step left committed (a failed transaction may have rolled back the
      // in-memory change): a request still in flight there may be at the server.
      const inFlight = storedPendingSend(store, p)?.inFlight !== undefined;
      // Part of the message (or, resumed, possibly all of it) is at the server. (The sync
      // copy is the last target: nothing follows its acceptance.)
      const accepted = p.delivered > 0 || resumed;
      // Keep the rest while the server is unreachable, and keep a request in flight whatever
      // failed here: resending it unchanged is safe (its key), dropping it could lose a copy.
      if ((accepted || inFlight) && (transientFailure(e) || (inFlight && !isClientError(e))))
        throw new ClientError(
          'SEND_PENDING',
          'the send could not go on: the message is kept and sent on by the next send or sync',
          { cause: e },
        );
      // The change found while encrypting rolled back with its attempt: record it, so the user
      // can compare safety numbers and accept it (until then sending to that device is refused).
      if (e instanceof IdentityChangedError)
        store.transaction(() => c.stores.identity.notePendingChange(e.address));
      // Nothing of the message can be at the server: the send fails as if never begun —
      // unless a group member refused, which is a warning (the other members still get it).
      if (!accepted && (!isClientError(e) || transientFailure(e) || p.conv.group === undefined)) {
        store.transaction(() => deletePendingSend(store, p));
        throw e;
      }
      // Otherwise (a refusal, or a local failure such as libsignal's for this recipient with
      // nothing of theirs in flight) this recipient is skipped with a warning: retrying would
      // fail the same way and hold every later send behind this one.
      const whom = t.sync ? 'own devices' : p.conv.group === undefined ? 'the recipient' : 'a group member';
      p = { ...settled(p), next: p.next + 1 };
      const next = p;
      store.transaction(() => {
        addWarning(store, {
          at: clock(),
          kind: 'delivery-failed',
          from: userAddress(t.to),
          detail: `not delivered to ${whom}: ${e instanceof Error ? e.message : 'a local error'}`,
        });
        putPendingSend(store, next);
      });
    }
  }
  const done = p;
  return store.transaction(() => {
    deletePendingSend(store, done);
    if (resumed && done.delivered === 0) return undefined;
    const { content } = done;
    const serverAt = done.serverTime ?? clock();
    const applied = ownChangeToApply(store, me, content, done.conv);
    applyContent(store, me, content, me, applied, 'sent', { serverAt, now: clock() });
    const seq = c.capture(() => recordFor(content, me, done.conv, 'sent', [...done.hashes], serverAt));
    return { content, conv: applied, seq };
  });
}

/**
 * What discarding gives for `p`'s next target: the request in flight as possibly delivered,
 * or, with none in flight or none that can have reached the relay (delivery.ts, `reached`),
 * a refusal (a warning, skipped).
 */
function discarded(p: PendingSend): Delivered {
  if (p.inFlight === undefined || p.inFlight.reached === false)
    throw new ClientError('DELIVERY_FAILED', 'the pending send was discarded before it reached the server');
  return { serverTime: p.inFlight.sentAt, hashes: [...p.inFlight.hashes], uncertain: 'discarded' };
}
