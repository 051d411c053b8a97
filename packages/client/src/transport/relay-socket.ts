/**
 * Delivery over `/v1/ws`: authenticates with the first frame (the token never goes in a
 * URL), hands each pushed envelope to the device's handler one at a time, in order, and
 * acknowledges it only after the handler has finished (so an envelope whose processing
 * was interrupted is delivered again), and reconnects with backoff when the socket drops
 * or the token behind it expires.
 */
import { decodeRelayServerFrame, encodeRelayFrame, RELAY_BINARY_PROTOCOL } from '@custos/core';
import WebSocket from 'ws';
import { ClientError } from '../errors.js';
import type { ApiClient } from './api-client.js';
import { backoffDelay } from './backoff.js';
import { int, obj, str, type Json } from './response-checks.js';

/** Close code the server uses for a revoked device (server relay/ws-connection.ts). */
export const WS_CLOSE_REVOKED = 4003;
/** How long to wait for the `ready` frame after sending `auth`. */
export const WS_READY_TIMEOUT_MS = 15_000;

/** An envelope as the relay delivers it. */
export interface RelayEnvelope {
  readonly id: string;
  readonly sender: {
    readonly orgId: string;
    readonly userId: string;
    readonly deviceId: string;
    readonly deviceNumber: number;
  };
  readonly type: number;
  readonly content: Uint8Array;
  readonly serverTime: number;
}

/** Reads an envelope from a frame or `GET /v1/messages`; SERVER_RESPONSE_INVALID when malformed. */
export function parseEnvelope(v: unknown): RelayEnvelope {
  const e = obj(v, 'envelope');
  const s = obj(e.sender, 'envelope.sender');
  const content = str(e, 'content');
  return {
    id: str(e, 'id'),
    sender: {
      orgId: str(s, 'orgId'),
      userId: str(s, 'userId'),
      deviceId: str(s, 'deviceId'),
      deviceNumber: int(s, 'deviceNumber'),
    },
    type: int(e, 'type'),
    content: new Uint8Array(Buffer.from(content, 'base64url')),
    serverTime: int(e, 'serverTime'),
  };
}

/** An ack of `id`: binary on a binary socket unless the id has no binary form (then JSON, which the server also reads). */
function ackFrame(binary: boolean, id: string): Buffer | string {
  if (binary) {
    try {
      return encodeRelayFrame({ kind: 'ack', ids: [id] });
    } catch {
      // not a 16-byte id: JSON below
    }
  }
  return JSON.stringify({ type: 'ack', ids: [id] });
}

/** What the socket tells its owner. */
export interface RelaySocketHandlers {
  /** Processes one envelope; it is acknowledged when this resolves, left queued when it throws. */
  readonly onEnvelope: (e: RelayEnvelope) => Promise<void>;
  /** The server reports few one-time prekeys left. */
  readonly onPrekeysLow?: () => void;
  /** Connection state changes, for status displays. */
  readonly onState?: (state: 'connecting' | 'ready' | 'closed' | 'revoked') => void;
}

/** A self-reconnecting relay socket. */
export class RelaySocket {
  #ws: WebSocket | undefined;
  #stopped = false;
  #attempt = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #readyWaiters: (() => void)[] = [];
  #ready = false;

  constructor(
    private readonly api: ApiClient,
    private readonly handlers: RelaySocketHandlers,
  ) {}

  /** Connects (and keeps reconnecting until {@link stop}); resolves once first ready. */
  start(): Promise<void> {
    this.#stopped = false;
    const ready = this.whenReady();
    void this.#connect();
    return ready;
  }

  /** Resolves when the socket is authenticated. */
  whenReady(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Resolves when every envelope received so far has been handled and acknowledged. */
  idle(): Promise<void> {
    return this.#chain;
  }

  /** Closes the socket and stops reconnecting; waits for the envelope being handled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000, 'client stopping');
    this.#ws = undefined;
    await this.#chain;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.handlers.onState?.('connecting');
    let token: string;
    try {
      token = await this.api.token();
    } catch (e) {
      if (e instanceof ClientError && e.server?.code === 'DEVICE_REVOKED') return this.#revoked();
      return this.#retry();
    }
    if (this.#stopped) return;
    // Offers the binary frames (core/relay-frames); a server that does not choose them speaks JSON.
    const ws = new WebSocket(`${this.api.baseUrl.replace(/^http/, 'ws')}/v1/ws`, [RELAY_BINARY_PROTOCOL]);
    this.#ws = ws;
    const readyTimer = setTimeout(() => ws.terminate(), WS_READY_TIMEOUT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token, deviceId: this.api.deviceId })));
    ws.on('message', (data, isBinary) => {
      if (!Buffer.isBuffer(data)) return;
      if (isBinary) return this.#onBinary(ws, data);
      let f: Json;
      try {
        f = obj(JSON.parse(data.toString('utf8')), 'frame');
      } catch {
        return; // a malformed frame is ignored; the server resends unacknowledged envelopes
      }
      this.#onFrame(ws, f, readyTimer);
    });
    ws.on('error', () => undefined); // 'close' follows and handles it
    ws.on('close', (code) => {
      clearTimeout(readyTimer);
      if (this.#ws === ws) this.#ws = undefined;
      this.#ready = false;
      if (code === WS_CLOSE_REVOKED) return this.#revoked();
      this.handlers.onState?.('closed');
      this.#retry();
    });
  }

  #onFrame(ws: WebSocket, f: Json, readyTimer: NodeJS.Timeout): void {
    switch (f.type) {
      case 'ready': {
        clearTimeout(readyTimer);
        this.#attempt = 0;
        this.#ready = true;
        this.handlers.onState?.('ready');
        for (const w of this.#readyWaiters.splice(0)) w();
        return;
      }
      case 'envelope': {
        let env: RelayEnvelope;
        try {
          env = parseEnvelope(f.envelope);
        } catch {
          return;
        }
        this.#handle(ws, env);
        return;
      }
      case 'prekeys-low':
        this.handlers.onPrekeysLow?.();
        return;
      case 'error':
        // An ack that failed server-side: the envelope is redelivered and deduplicated by id.
        return;
      default:
        return;
    }
  }

  /** A binary frame (binary protocol only): envelopes are handled, anything else ignored. */
  #onBinary(ws: WebSocket, data: Buffer): void {
    if (ws.protocol !== RELAY_BINARY_PROTOCOL) return;
    let f;
    try {
      f = decodeRelayServerFrame(data);
    } catch {
      return; // a malformed frame is ignored; the server resends unacknowledged envelopes
    }
    if (f.kind !== 'envelope') return;
    // A copy: the handler may keep the content beyond this frame's buffer.
    this.#handle(ws, {
      id: f.id,
      sender: f.sender,
      type: f.type,
      content: new Uint8Array(f.content),
      serverTime: f.serverTime,
    });
  }

  /**
   * Hands `env` to the handler, one at a time, in delivery order; the ack follows the handler
   * (at-least-once). A handler that throws (store closed, crash) leaves the envelope queued
   * for redelivery. The ack is binary when the server chose the binary protocol.
   */
  #handle(ws: WebSocket, env: RelayEnvelope): void {
    this.#chain = this.#chain.then(async () => {
      try {
        await this.handlers.onEnvelope(env);
      } catch {
        return;
      }
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(ackFrame(ws.protocol === RELAY_BINARY_PROTOCOL, env.id));
    });
  }

  #revoked(): void {
    this.#stopped = true;
    this.handlers.onState?.('revoked');
  }

  #retry(): void {
    if (this.#stopped) return;
    const delay = backoffDelay(this.#attempt++);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
