/**
 * The client's operation queue. Signal sessions and the archive chain allow one operation
 * at a time, so every call that touches them runs through `serial` (after every earlier
 * one, whether it failed or not), and every send through `captured`, which also keeps the
 * user's own-device list fresh and, capture being required, refreshes bucket keys once when
 * none covers now instead of sending unarchived.
 */
import type { OwnDeviceWatch } from '../devices/own-device-watch.js';
import { ClientError, isClientError } from '../errors.js';
import type { MessageEvent, Messenger } from '../messaging/messenger.js';

/** What the queue works with. */
export interface OperationsDeps {
  readonly messenger: Messenger;
  readonly ownDevices: OwnDeviceWatch;
  /** Fetches and verifies the archive material (delegation, class, bucket and index keys) again. */
  readonly refreshKeys: () => Promise<unknown>;
  /** The same when it is due (a client that stays open); never fails. */
  readonly refreshKeysIfDue: () => Promise<void>;
}

/** One client's serial queue of operations. */
export class Operations {
  /** The last queued operation, settled (never rejects). */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: OperationsDeps) {}

  /** Runs `fn` after every earlier operation. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every operation queued so far has finished. */
  idle(): Promise<unknown> {
    return this.#tail;
  }

  /** Runs a send in the queue; refreshes bucket keys once if none covers now (capture is required). */
  captured(fn: (m: Messenger) => Promise<MessageEvent>): Promise<MessageEvent> {
    const { messenger, ownDevices, refreshKeys, refreshKeysIfDue } = this.deps;
    return this.serial(async () => {
      // Sync copies reach a device linked since the own-device list was cached.
      await ownDevices.beforeSend();
      // A client that stays open learns a new retention class or bucket without a sync.
      await refreshKeysIfDue();
      try {
        return await fn(messenger);
      } catch (e) {
        if (!isClientError(e, 'NO_BUCKET_KEY')) throw e;
      }
      // The period's bucket may be new: fetch and verify bucket keys once, then try again.
      await refreshKeys();
      try {
        return await fn(messenger);
      } catch (e) {
        if (isClientError(e, 'NO_BUCKET_KEY'))
          throw new ClientError(
            'CAPTURE_REQUIRED',
            `not sent: the organisation requires archiving and ${e.message}`,
            { cause: e },
          );
        throw e;
      }
    });
  }
}
