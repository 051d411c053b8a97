/**
 * One device's WebSocket on `/v1/ws` (protocol in docs/relay.md). The socket authenticates
 * with its first frame — `{"type":"auth","token":…,"deviceId":…}` — so the token never
 * appears in a URL, a query string or the upgrade request's logs. Then the server pushes
 * the device's queue in order, at most WS_MAX_IN_FLIGHT envelopes unacknowledged at a time,
 * and deletes each envelope when the device acknowledges it. Anything unacknowledged when
 * the socket closes stays queued and is pushed again on the next connection.
 */
import type { Duplex } from 'node:stream';
import {
  decodeRelayClientFrame,
  encodeRelayFrame,
  RELAY_BINARY_PROTOCOL,
  type RelayClientFrame,
  type RelayFrameLimits,
} from '@custos/core';
import { Compile } from 'typebox/compile';
import type { RawData, WebSocket } from 'ws';
import {
  RELAY_MAX_ENVELOPE_BYTES,
  RELAY_MAX_ENVELOPES_PER_MESSAGE,
  WS_MAX_ACK_IDS,
  WS_AUTH_TIMEOUT_MS,
  WS_DEVICE_RECHECK_MS,
  WS_MAX_IN_FLIGHT,
  WS_MAX_IN_FLIGHT_BYTES,
  WS_PING_INTERVAL_MS,
} from '../config/messaging-defaults.js';
import { isServerError, ServerError } from '../errors.js';
import { authenticateToken } from '../http/auth-guard.js';
import { RateLimiter } from '../http/rate-limit.js';
import type { AppDeps, AuthContext } from '../http/route-def.js';
import { describeValidationError } from '../http/validation.js';
import type { EnvelopeId, EnvelopeSender } from '../store/messaging-records.js';
import type { Stores } from '../store/stores.js';
import type { MessagingServices } from './messaging-services.js';
import type { WakeEvent } from './relay-hub.js';
import type { OutgoingEnvelope } from './relay-service.js';
import {
  ClientFrameSchema,
  envelopeBinaryFrame,
  envelopeFrame,
  type ClientFrame,
  type DeliveredEnvelope,
  type SendResult,
} from './wire.js';
import { errorCode } from '../log/error-code.js';

/** Close codes the server uses (4000–4999 are application codes). */
export const WS_CLOSE = {
  AUTH_FAILED: 4001,
  REVOKED: 4003,
  AUTH_TIMEOUT: 4008,
  TOKEN_EXPIRED: 4009,
  INTERNAL: 1011,
  GOING_AWAY: 1001,
} as const;

const checkFrame = Compile(ClientFrameSchema);
/** What a binary client frame may hold: the same limits as its JSON form. */
const BINARY_LIMITS: RelayFrameLimits = {
  maxEnvelopes: RELAY_MAX_ENVELOPES_PER_MESSAGE,
  maxContentBytes: RELAY_MAX_ENVELOPE_BYTES,
  maxAckIds: WS_MAX_ACK_IDS,
};
/** A received message's bytes (`ws` hands over one buffer, fragments or an ArrayBuffer). */
function bytesOf(data: RawData): Buffer {
  return Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
/** The two forms of the frames sent with RelayConnection.sendDual. */
const envelopeJson = (e: DeliveredEnvelope): string => envelopeFrame(e, e.contentText);
const ackedBinary = (reqId: number): Buffer => encodeRelayFrame({ kind: 'acked', reqId });
const ackedJson = (reqId: number): string => JSON.stringify({ type: 'acked', reqId });
const sentBinary = ({ reqId, result }: { reqId: number; result: SendResult }): Buffer =>
  encodeRelayFrame({ kind: 'sent', reqId, serverTime: result.serverTime, envelopes: result.envelopes });
const sentJson = ({ reqId, result }: { reqId: number; result: SendResult }): string =>
  JSON.stringify({ type: 'sent', reqId, result });
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Serves one socket until it closes. `tcp` is the upgraded request's socket (the stream
 * `socket` writes its frames to), corked per tick by `send`; absent for in-process sockets.
 */
export function serveRelaySocket(
  socket: WebSocket,
  tcp: Duplex | undefined,
  deps: AppDeps,
  m: MessagingServices,
): void {
  new RelayConnection(socket, tcp, deps, m).start();
}

class RelayConnection {
  private auth: AuthContext | null = null;
  /** The authenticated device as the sender of its messages (made once, at authentication). */
  private sender: EnvelopeSender | null = null;
  private authenticating = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  /** Pushed on this socket, not yet acknowledged: id → content bytes. */
  private readonly inflight = new Map<string, number>();
  private inflightBytes = 0;
  /** Acknowledged, delete not yet committed: skipped by the pump so they are not pushed twice. */
  private readonly acking = new Set<string>();
  private pumping = false;
  private pumpAgain = false;
  /** The last page read was full: more may wait in the store once the window frees up. */
  private backlog = true;
  /**
   * Times the store was found to hold envelopes not pushed from memory (markBacklog): a queue
   * read that was already running may have missed them, so it must not clear the backlog.
   */
  private backlogMarks = 0;
  private lastDeviceCheck = 0;
  /** A revocation re-check started by pushCommitted is running. */
  private rechecking = false;
  /** Committed envelopes waiting, in queue order, for that re-check before they are pushed from memory. */
  private held: DeliveredEnvelope[] = [];
  private alive = true;
  private readonly sends: RateLimiter;
  /** The TCP socket is corked until the current tick's frames are all written (see send). */
  private corked = false;
  /**
   * The client chose the subprotocol RELAY_BINARY_PROTOCOL: envelope, sent and acked frames
   * go out binary (core/relay-frames), and binary send and ack frames are accepted besides
   * JSON ones. Everything else stays JSON text.
   */
  private readonly binary: boolean;

  constructor(
    private readonly socket: WebSocket,
    private readonly tcp: Duplex | undefined,
    private readonly deps: AppDeps,
    private readonly m: MessagingServices,
  ) {
    this.sends = new RateLimiter(m.settings.wsSend, deps.clock);
    this.binary = socket.protocol === RELAY_BINARY_PROTOCOL;
  }

  start(): void {
    this.timers.push(
      setTimeout(() => this.close(WS_CLOSE.AUTH_TIMEOUT, 'authenticate first'), WS_AUTH_TIMEOUT_MS),
    );
    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on('close', () => this.cleanup());
    this.socket.on('error', () => this.cleanup());
    this.socket.on('pong', () => (this.alive = true));
    const ping = setInterval(() => {
      if (!this.alive) return this.socket.terminate();
      this.alive = false;
      this.socket.ping();
    }, WS_PING_INTERVAL_MS);
    this.timers.push(ping);
  }

  /**
   * Sends a frame. A committed batch answers many sends and pushes many envelopes in one
   * tick, often several to one socket: the TCP socket stays corked until the tick ends, so
   * they leave in one write (one syscall) instead of one each.
   */
  private send(frame: object): void {
    this.sendText(JSON.stringify(frame));
  }

  /** Sends a frame already rendered as JSON text or binary (see send). */
  private sendText(text: string | Buffer): void {
    if (this.closed) return;
    const tcp = this.tcp;
    if (!this.corked && tcp !== undefined) {
      this.corked = true;
      tcp.cork();
      process.nextTick(() => {
        this.corked = false;
        tcp.uncork();
      });
    }
    this.socket.send(text, { binary: typeof text !== 'string' });
  }

  /**
   * Sends a frame that has a binary form: binary on a binary socket, unless a field does not
   * fit its layout (an id that is not 16 bytes of canonical base64url, a reqId past 48 bits),
   * when the JSON form goes instead — clients of the binary protocol read both. The two forms
   * are module-level functions of `value`: nothing is made per frame but the frame.
   */
  private sendDual<T>(value: T, binary: (v: T) => Buffer, json: (v: T) => string): void {
    if (this.binary) {
      let bytes: Buffer | null = null;
      try {
        bytes = binary(value);
      } catch {
        // falls back to JSON below
      }
      if (bytes !== null) return this.sendText(bytes);
    }
    this.sendText(json(value));
  }

  /** Pushes one envelope (its JSON frame from the sender's own base64url text when known). */
  private sendEnvelope(e: DeliveredEnvelope): void {
    this.sendDual(e, envelopeBinaryFrame, envelopeJson);
  }

  private sendError(e: unknown, reqId?: number): void {
    const se = isServerError(e) ? e : new ServerError('INTERNAL', 'internal error', { cause: e });
    if (se.code === 'INTERNAL') this.deps.logger.error('ws-internal-error', { route: '/v1/ws' });
    this.send({
      type: 'error',
      ...(reqId === undefined ? {} : { reqId }),
      error: {
        code: se.code,
        message: se.message,
        ...(se.details === undefined ? {} : { details: se.details }),
      },
    });
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary && this.binary) return this.onBinary(data);
    let frame: unknown;
    try {
      if (isBinary)
        throw new ServerError(
          'INVALID_REQUEST',
          `frames are JSON text (binary frames need the subprotocol ${RELAY_BINARY_PROTOCOL})`,
        );
      frame = JSON.parse(bytesOf(data).toString('utf8'));
    } catch (e) {
      if (!this.auth) return this.close(WS_CLOSE.AUTH_FAILED, 'first frame must be auth');
      return this.sendError(
        isServerError(e) ? e : new ServerError('MALFORMED_JSON', 'the frame is not JSON'),
      );
    }
    if (!checkFrame.Check(frame)) {
      const message = describeValidationError('frame', [...checkFrame.Errors(frame)] as never);
      if (!this.auth) return this.close(WS_CLOSE.AUTH_FAILED, 'first frame must be auth');
      return this.sendError(new ServerError('INVALID_REQUEST', message));
    }
    const f: ClientFrame = frame;
    if (this.auth === null) {
      if (f.type !== 'auth' || this.authenticating)
        return this.close(WS_CLOSE.AUTH_FAILED, 'first frame must be auth');
      this.authenticating = true;
      void this.authenticate(f.token, f.deviceId);
      return;
    }
    if (f.type === 'auth') return this.sendError(new ServerError('INVALID_REQUEST', 'already authenticated'));
    if (f.type === 'ack') return this.onAck(f.ids as EnvelopeId[], f.reqId);
    const message = f.message;
    void this.onSend(f.reqId, (sender) => this.m.relay.send(sender, message));
  }

  /** A binary send or ack frame (binary sockets only); anything malformed gets an error frame. */
  private onBinary(data: RawData): void {
    // Authentication is a JSON frame: nothing binary before it.
    if (this.auth === null) return this.close(WS_CLOSE.AUTH_FAILED, 'first frame must be auth');
    let f: RelayClientFrame;
    try {
      f = decodeRelayClientFrame(bytesOf(data), BINARY_LIMITS);
    } catch (e) {
      return this.sendError(
        new ServerError('INVALID_REQUEST', e instanceof Error ? e.message : 'malformed binary frame'),
      );
    }
    if (f.kind === 'ack') return this.onAck(f.ids as EnvelopeId[], f.reqId);
    // Contents are copied out of the received frame, so a queued envelope holds only its own bytes.
    const envelopes: OutgoingEnvelope[] = f.envelopes.map((e) => ({
      deviceId: e.deviceId,
      type: e.type,
      content: Buffer.from(e.content),
    }));
    void this.onSend(f.reqId, (sender) => this.m.relay.sendDecoded(sender, f.recipient, envelopes));
  }

  private async authenticate(token: string, deviceId: string): Promise<void> {
    try {
      // The same checks as every device route (token known, unexpired, bound to the device, device not revoked).
      const { auth, tokenExpiresAt } = await authenticateToken(token, deviceId, this.deps);
      if (this.closed) return;
      this.auth = auth;
      this.sender = {
        orgId: auth.orgId,
        userId: auth.userId,
        deviceId: auth.deviceId,
        deviceNumber: auth.device.deviceNumber,
      };
      clearTimeout(this.timers[0]);
      // The socket lives no longer than its token; the device reconnects with a fresh one.
      const ttl = Math.min(MAX_TIMER_MS, Math.max(0, tokenExpiresAt - this.deps.clock()));
      this.timers.push(setTimeout(() => this.close(WS_CLOSE.TOKEN_EXPIRED, 'token expired'), ttl));
      this.lastDeviceCheck = this.deps.clock();
      const counts = await this.deps.stores.prekeys.counts(auth.orgId, auth.deviceId);
      if (this.closed) return;
      this.send({ type: 'ready', orgId: auth.orgId, deviceId: auth.deviceId, expiresAt: tokenExpiresAt });
      this.sendPrekeyStatus(counts.oneTime, counts.kyber);
      // Subscribed only now, so no envelope is pushed before `ready`; nothing is missed: an
      // envelope committed before this line is in the queue that pump() reads next.
      this.unsubscribe = this.m.hub.subscribe(auth.orgId, auth.deviceId, (event, committed, currentAt) =>
        this.onWake(event, committed, currentAt),
      );
      // A revocation that committed after authenticateToken's read woke no listener of this
      // socket: the first pump re-reads the device before pushing anything.
      this.lastDeviceCheck = Number.NEGATIVE_INFINITY;
      this.pump();
    } catch (e) {
      this.sendError(e);
      this.close(
        isServerError(e, 'DEVICE_REVOKED') ? WS_CLOSE.REVOKED : WS_CLOSE.AUTH_FAILED,
        'authentication failed',
      );
    }
  }

  private sendPrekeyStatus(oneTime: number, kyber: number): void {
    const threshold = this.m.settings.prekeyLowThreshold;
    if (oneTime < threshold || kyber < threshold)
      this.send({ type: 'prekeys-low', oneTime, kyber, threshold });
  }

  private onWake(event: WakeEvent, committed?: readonly DeliveredEnvelope[], currentAt?: number): void {
    if (event === 'revoked') {
      // Sent only once the revocation committed: no device read needed, nothing more is pushed.
      this.held = [];
      this.sendError(new ServerError('DEVICE_REVOKED', 'this device has been revoked'));
      return this.close(WS_CLOSE.REVOKED, 'device revoked');
    }
    if (event === 'queue') {
      if (committed !== undefined && this.pushCommitted(committed, currentAt)) return;
      this.markBacklog();
      this.pump();
      return;
    }
    const auth = this.auth;
    if (auth === null) return;
    this.deps.stores.prekeys.counts(auth.orgId, auth.deviceId).then(
      (c) => this.sendPrekeyStatus(c.oneTime, c.kyber),
      () => undefined,
    );
  }

  /**
   * Pushes envelopes just committed to this device's queue straight from memory, without
   * reading the store — only when that keeps queue order: no read is running and the last
   * one saw the whole queue (no backlog), so everything older was pushed (or is held)
   * already, and the window has room for all of them. Returns false when the store must be
   * read instead. When the device's revocation re-check is due, the envelopes are held (in
   * order) until it passes, so the re-check costs one device read, not a queue read. The
   * transaction that queued them addressed this device, so it was current at `currentAt`:
   * that counts as a re-check (a device read then would have found it current), and a socket
   * that receives steadily needs no device read of its own.
   */
  private pushCommitted(committed: readonly DeliveredEnvelope[], currentAt?: number): boolean {
    if (this.auth === null || this.closed || this.pumping || this.backlog) return false;
    if (currentAt !== undefined && currentAt > this.lastDeviceCheck) this.lastDeviceCheck = currentAt;
    if (this.rechecking || this.deps.clock() - this.lastDeviceCheck >= WS_DEVICE_RECHECK_MS) {
      for (const e of committed) this.held.push(e);
      if (!this.rechecking) this.recheckThenRelease(this.auth);
      return true;
    }
    let bytes = 0;
    for (const e of committed) bytes += e.content.length;
    if (
      this.inflight.size + committed.length > WS_MAX_IN_FLIGHT ||
      this.inflightBytes + bytes > WS_MAX_IN_FLIGHT_BYTES
    )
      return false;
    for (const e of committed) {
      if (this.inflight.has(e.envelopeId) || this.acking.has(e.envelopeId)) continue;
      this.inflight.set(e.envelopeId, e.content.length);
      this.inflightBytes += e.content.length;
      this.sendEnvelope(e);
    }
    return true;
  }

  /**
   * Where the revocation re-check reads: committed state without waiting behind queued
   * writes or a WAL sync (SQLite's read-only connection) where the store has it. Safe: the
   * result only closes the socket or lets envelopes go that are committed already; waiting a
   * sync here put one more sync on the delivery path of every device's first envelope after
   * a quiet WS_DEVICE_RECHECK_MS (docs/performance.md).
   */
  private currentDevices(): Pick<Stores['devices'], 'get'> {
    return (this.deps.stores.committed ?? this.deps.stores).devices;
  }

  /** Re-checks that the device is not revoked, then pushes what was held meanwhile (or reads the store). */
  private recheckThenRelease(auth: AuthContext): void {
    this.rechecking = true;
    const now = this.deps.clock();
    this.currentDevices()
      .get(auth.orgId, auth.deviceId)
      .then(
        (device) => {
          this.rechecking = false;
          // A delivery meanwhile may have counted as a later check (pushCommitted).
          this.lastDeviceCheck = Math.max(this.lastDeviceCheck, now);
          const held = this.held;
          this.held = [];
          if (device === undefined || device.revokedAt !== null) {
            this.sendError(new ServerError('DEVICE_REVOKED', 'this device has been revoked'));
            return this.close(WS_CLOSE.REVOKED, 'device revoked');
          }
          if (held.length > 0 && !this.pushCommitted(held)) {
            // The window filled up or a read started meanwhile: the store has them, in order.
            this.markBacklog();
            this.pump();
          }
        },
        (e: unknown) => {
          this.rechecking = false;
          this.held = [];
          this.deps.logger.error('ws-pump-failed', { route: '/v1/ws', code: errorCode(e) });
          this.close(WS_CLOSE.INTERNAL, 'internal error');
        },
      );
  }

  /** The store holds envelopes for this device that were not pushed from memory. */
  private markBacklog(): void {
    this.backlog = true;
    this.backlogMarks += 1;
  }

  /** Pushes queued envelopes while the window has room; coalesces concurrent calls. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop().finally(() => {
      this.pumping = false;
      // A wake-up that came after the loop's last check must not be lost.
      if (this.pumpAgain && !this.closed) this.pump();
    });
  }

  private async pumpLoop(): Promise<void> {
    const auth = this.auth;
    if (auth === null) return;
    try {
      do {
        this.pumpAgain = false;
        if (this.closed || !this.backlog) return;
        const room = WS_MAX_IN_FLIGHT - this.inflight.size;
        if (room <= 0 || this.inflightBytes >= WS_MAX_IN_FLIGHT_BYTES) return;
        const now = this.deps.clock();
        if (now - this.lastDeviceCheck >= WS_DEVICE_RECHECK_MS) {
          const device = await this.currentDevices().get(auth.orgId, auth.deviceId);
          this.lastDeviceCheck = Math.max(this.lastDeviceCheck, now);
          if (device === undefined || device.revokedAt !== null) {
            this.sendError(new ServerError('DEVICE_REVOKED', 'this device has been revoked'));
            return this.close(WS_CLOSE.REVOKED, 'device revoked');
          }
        }
        // Rows already pushed or being deleted come back too; they are skipped below. Held
        // envelopes are committed, so this read returns them (in order) as well.
        this.held = [];
        const limit = this.inflight.size + this.acking.size + room;
        const marks = this.backlogMarks;
        const rows = await this.m.relay.pending(auth.orgId, auth.deviceId, limit);
        // A commit for this device while the read ran (its push refused: a read was running)
        // may not be in `rows`, which were read before it: the backlog stays, and the loop
        // reads again.
        this.backlog = rows.length === limit || this.backlogMarks !== marks;
        for (const e of rows) {
          if (this.closed) return;
          if (this.inflight.has(e.envelopeId) || this.acking.has(e.envelopeId)) continue;
          if (this.inflight.size >= WS_MAX_IN_FLIGHT || this.inflightBytes >= WS_MAX_IN_FLIGHT_BYTES) {
            this.backlog = true;
            break;
          }
          this.inflight.set(e.envelopeId, e.content.length);
          this.inflightBytes += e.content.length;
          this.sendEnvelope(e);
        }
      } while (this.pumpAgain);
    } catch (e) {
      this.deps.logger.error('ws-pump-failed', { route: '/v1/ws', code: errorCode(e) });
      this.close(WS_CLOSE.INTERNAL, 'internal error');
    }
  }

  private onAck(ids: EnvelopeId[], reqId: number | undefined): void {
    const auth = this.auth;
    if (auth === null) return;
    // Ids this socket pushed are rows of this device's queue (read for it, or handed to it at
    // commit): they join the batch's one delete by id. Any other id (pushed on an earlier
    // connection, repeated, or unknown) is deleted with the device check of `ack`.
    let pushed: EnvelopeId[] | null = null;
    let other: EnvelopeId[] | null = null;
    for (const id of ids) {
      const size = this.inflight.get(id);
      if (size !== undefined) {
        this.inflight.delete(id);
        this.inflightBytes -= size;
        (pushed ??= []).push(id);
      } else (other ??= []).push(id);
      this.acking.add(id);
    }
    const relay = this.m.relay;
    const deleted =
      other === null
        ? relay.ackPushed(pushed ?? [])
        : pushed === null
          ? relay.ack(auth.orgId, auth.deviceId, other)
          : Promise.all([relay.ackPushed(pushed), relay.ack(auth.orgId, auth.deviceId, other)]);
    deleted.then(
      () => {
        for (const id of ids) this.acking.delete(id);
        if (reqId !== undefined) this.sendDual(reqId, ackedBinary, ackedJson);
        this.pump();
      },
      (e: unknown) => {
        for (const id of ids) this.acking.delete(id);
        this.sendError(e, reqId);
      },
    );
  }

  /** Stores a message (JSON or binary, through `store`) and answers with `sent` or an error. */
  private async onSend(reqId: number, store: (sender: EnvelopeSender) => Promise<SendResult>): Promise<void> {
    const sender = this.sender;
    if (sender === null) return;
    try {
      const decision = this.sends.take('socket');
      if (!decision.allowed) throw new ServerError('RATE_LIMITED', 'too many messages from this device');
      const result = await store(sender);
      this.sendDual({ reqId, result }, sentBinary, sentJson);
    } catch (e) {
      this.sendError(e, reqId);
    }
  }
}
