/**
 * In-memory wake-ups for connected sockets: after a commit puts envelopes in a device's
 * queue, the hub tells that device's open sockets on this node. A local commit hands over
 * the committed envelopes themselves, so a socket that has pushed everything older can push
 * them without reading the store again; a cross-node wake-up carries no data. The queue in
 * the store stays the only source of truth: a lost wake-up delays delivery until the next
 * one (or the next connect) but loses nothing.
 */
import type { DeviceId, OrgId } from '../ids.js';
import type { DeliveredEnvelope } from './wire.js';

/**
 * What changed: the device's queue may have new envelopes, its one-time prekeys ran low, or
 * it was revoked (its sockets close at once, docs/relay.md).
 */
export type WakeEvent = 'queue' | 'prekeys-low' | 'revoked';
/**
 * Called on a wake-up of the device; `committed` (with 'queue' only) are envelopes just
 * committed to its queue, in queue order — absent when the listener must read the store.
 * `currentAt`, when given with them, is a time at which the store showed the device current
 * (not revoked): the transaction that queued them addressed it.
 */
export type WakeListener = (
  event: WakeEvent,
  committed?: readonly DeliveredEnvelope[],
  currentAt?: number,
) => void;

/** Registry of listeners per device queue on this node. */
export class RelayHub {
  /**
   * Listeners per queue key. A list is never changed in place: subscribing or leaving puts
   * a new one in, so a wake-up iterates the list it found without copying it, even when a
   * listener it calls unsubscribes (a socket closing on a revocation).
   */
  private readonly listeners = new Map<string, readonly WakeListener[]>();

  /** Registers a listener for a device's queue; returns the function that removes it. */
  subscribe(orgId: OrgId, deviceId: DeviceId, listener: WakeListener): () => void {
    const key = queueKey(orgId, deviceId);
    const list = this.listeners.get(key) ?? [];
    // A listener is registered once, however often it subscribes (as a set would keep it).
    if (!list.includes(listener)) this.listeners.set(key, [...list, listener]);
    return () => {
      const list = this.listeners.get(key);
      if (list === undefined || !list.includes(listener)) return;
      const rest = list.filter((l) => l !== listener);
      if (rest.length === 0) this.listeners.delete(key);
      else this.listeners.set(key, rest);
    };
  }

  /** Wakes every listener of a device on this node. */
  wake(orgId: OrgId, deviceId: DeviceId, event: WakeEvent = 'queue'): void {
    this.wakeKey(queueKey(orgId, deviceId), event);
  }

  /**
   * Hands envelopes just committed to a device's queue (in queue order) to its listeners on
   * this node; `currentAt`: see {@link WakeListener}.
   */
  deliver(
    orgId: OrgId,
    deviceId: DeviceId,
    committed: readonly DeliveredEnvelope[],
    currentAt?: number,
  ): void {
    const list = this.listeners.get(queueKey(orgId, deviceId));
    if (list === undefined) return;
    for (const l of list) l('queue', committed, currentAt);
  }

  /** Wakes listeners by queue key (as carried in cross-node notifications). */
  wakeKey(key: string, event: WakeEvent = 'queue'): void {
    const list = this.listeners.get(key);
    if (list === undefined) return;
    for (const l of list) l(event);
  }

  /** Wakes every listener on this node (after missed cross-node notifications). */
  wakeAll(): void {
    for (const key of [...this.listeners.keys()]) this.wakeKey(key);
  }

  /** Whether any socket on this node listens to the queue. */
  hasListeners(orgId: OrgId, deviceId: DeviceId): boolean {
    return this.listeners.has(queueKey(orgId, deviceId));
  }

  /** Number of queues with a listener (tests, shutdown). */
  get size(): number {
    return this.listeners.size;
  }
}

/** The key of a device queue: `<orgId>/<deviceId>` (ids are base64url, so `/` cannot occur in them). */
export function queueKey(orgId: OrgId, deviceId: DeviceId): string {
  return `${orgId}/${deviceId}`;
}

/** Prefix of a cross-node revocation payload; a bare queue key means 'queue'. Ids never hold `:`. */
const REVOKED_PREFIX = 'revoked:';

/** The cross-node notification payload of `event` for a queue key (see {@link parseWakePayload}). */
export function wakePayload(key: string, event: 'queue' | 'revoked'): string {
  return event === 'revoked' ? REVOKED_PREFIX + key : key;
}

/** The queue key and event of a cross-node notification payload. */
export function parseWakePayload(payload: string): { key: string; event: 'queue' | 'revoked' } {
  return payload.startsWith(REVOKED_PREFIX)
    ? { key: payload.slice(REVOKED_PREFIX.length), event: 'revoked' }
    : { key: payload, event: 'queue' };
}
