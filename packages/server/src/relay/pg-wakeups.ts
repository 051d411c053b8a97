/**
 * Cross-node wake-ups on PostgreSQL: every API node LISTENs on the relay channel; the
 * transaction that enqueues envelopes NOTIFYs `<orgId>/<deviceId>` per recipient (a
 * revocation: `revoked:<orgId>/<deviceId>`), delivered to all nodes only once it commits. A
 * node wakes (or, on revocation, closes) its local sockets for that queue. If the
 * listening connection drops, it reconnects and wakes every local socket once, since
 * notifications sent meanwhile are lost (the queues themselves are not).
 */
import pg from 'pg';
import type { Logger } from '../log/logger.js';
import { RELAY_NOTIFY_CHANNEL } from '../store/messaging-stores.js';
import { parseWakePayload, type RelayHub } from './relay-hub.js';

/** Delay before reconnecting a dropped listener. */
export const PG_WAKEUP_RECONNECT_MS = 1_000;

/** A running listener. */
export interface PgWakeups {
  close(): Promise<void>;
}

/** Starts listening; resolves once the first LISTEN is in place. */
export async function startPgWakeups(url: string, hub: RelayHub, logger: Logger): Promise<PgWakeups> {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => {
      if (n.channel !== RELAY_NOTIFY_CHANNEL || typeof n.payload !== 'string') return;
      const { key, event } = parseWakePayload(n.payload);
      hub.wakeKey(key, event);
    });
    c.on('error', () => {
      logger.warn('relay-listener-lost');
      void c.end().catch(() => undefined);
      if (client === c) client = null;
      schedule();
    });
    await c.connect();
    // The channel name is a constant identifier, not input.
    await c.query(`LISTEN ${RELAY_NOTIFY_CHANNEL}`);
    client = c;
  };
  const schedule = (): void => {
    if (stopped || timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      connect().then(
        () => hub.wakeAll(),
        () => schedule(),
      );
    }, PG_WAKEUP_RECONNECT_MS);
    timer.unref();
  };

  await connect();
  return {
    async close() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
