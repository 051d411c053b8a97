/**
 * Shared by the relay tests: an app over a fresh store with messaging services whose relay
 * receipts are recorded (and sequenced into the real log), extra devices for a user, a
 * message builder, and a small WebSocket client that speaks the /v1/ws protocol.
 */
import { randomBytes } from 'node:crypto';
import { decodeRelayServerFrame, encodeRelayFrame, type RelayClientFrame } from '@custos/core';
import WebSocket from 'ws';
import { sequenceEntries } from '../packages/server/src/log-service/sequencing.js';
import {
  createMessagingServices,
  type MessagingServices,
  type MessagingSettings,
} from '../packages/server/src/relay/messaging-services.js';
import type { StoreBackend } from '../packages/server/src/store/stores.js';
import { authChallengeMessage } from '../packages/server/src/auth/challenge-message.js';
import type { DeviceId, OrgId } from '../packages/server/src/ids.js';
import {
  call,
  createTestApp,
  deviceKeys,
  enrolAndLogin,
  orgCreateBody,
  type TestApp,
  type TestDevice,
} from '../packages/server/src/testing/test-app.js';

/** An app with recorded receipts. */
export interface RelayTestApp extends TestApp {
  readonly messaging: MessagingServices;
  /** Every receipt batch sequenced: org and entry count. */
  readonly receipts: { orgId: string; count: number }[];
}

/** Builds the app with messaging services (optionally with settings overridden). */
export async function createRelayTestApp(
  stores: StoreBackend,
  settings: Partial<MessagingSettings> = {},
): Promise<RelayTestApp> {
  const receipts: { orgId: string; count: number }[] = [];
  let clockRef: { now: number } | null = null;
  const messaging = createMessagingServices({
    stores,
    clock: () => clockRef?.now ?? Date.now(),
    settings,
    receipts: async (tx, orgId, entries) => {
      receipts.push({ orgId, count: entries.length });
      return sequenceEntries(tx, orgId, entries);
    },
  });
  const t = await createTestApp(stores, { messaging });
  clockRef = t.clock;
  return { ...t, messaging, receipts };
}

/**
 * Enrols and logs in another device of `owner`'s user with a link code from `owner` (an admin's
 * code cannot add a device to a user who has one: USER_HAS_DEVICE).
 */
export async function addDevice(t: TestApp, owner: TestDevice): Promise<TestDevice> {
  const c = await call(t.app, 'POST', '/v1/devices/link-codes', {}, owner.headers());
  if (c.statusCode !== 201) throw new Error(`link code failed: ${c.body}`);
  return enrolAndLogin(t.app, owner.orgId, c.json<{ code: string }>().code);
}

/** A message body addressing `devices` of `to` with random ciphertext. */
export function message(
  to: { orgId: string; userId: string },
  devices: readonly string[],
  bytes = 64,
): {
  recipient: { orgId: string; userId: string };
  envelopes: { deviceId: string; type: number; content: string }[];
} {
  return {
    recipient: { orgId: to.orgId, userId: to.userId },
    envelopes: devices.map((deviceId) => ({
      deviceId,
      type: 3,
      content: randomBytes(bytes).toString('base64url'),
    })),
  };
}

/** A frame the server sent. */
export type ServerFrame = Record<string, unknown> & { type: string };

/**
 * A binary server frame in the shape of its JSON form (content as base64url), marked
 * `binary: true`, so tests read both protocols alike.
 */
function fromBinary(bytes: Buffer): ServerFrame {
  const f = decodeRelayServerFrame(bytes);
  if (f.kind === 'envelope') {
    const { kind: _kind, content, ...rest } = f;
    return {
      type: 'envelope',
      binary: true,
      envelope: { ...rest, content: Buffer.from(content).toString('base64url') },
    };
  }
  if (f.kind === 'sent')
    return {
      type: 'sent',
      binary: true,
      reqId: f.reqId,
      result: { serverTime: f.serverTime, envelopes: f.envelopes },
    };
  return { type: 'acked', binary: true, reqId: f.reqId };
}

/** A /v1/ws client that queues the frames it receives. */
export class RelayClient {
  readonly frames: ServerFrame[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      this.frames.push(isBinary ? fromBinary(bytes) : (JSON.parse(bytes.toString('utf8')) as ServerFrame));
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.notify();
    });
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Opens a socket to `baseUrl` (http://…), offering `protocols` (WebSocket subprotocols),
   * and, when `auth` is given, authenticates.
   */
  static async connect(
    baseUrl: string,
    auth?: { token: string; deviceId: string },
    protocols: string[] = [],
  ): Promise<RelayClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws`, protocols);
    const c = new RelayClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (auth !== undefined) {
      c.sendFrame({ type: 'auth', token: auth.token, deviceId: auth.deviceId });
      await c.next('ready');
    }
    return c;
  }

  sendFrame(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a binary frame (core/relay-frames). */
  sendBinary(frame: RelayClientFrame | Uint8Array): void {
    this.ws.send(frame instanceof Uint8Array ? frame : encodeRelayFrame(frame));
  }

  /** Waits until a frame of `type` arrives (or the socket closes) and removes it from the queue. */
  async next(type: string, timeoutMs = 10_000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed !== null) throw new Error(`socket closed (${this.closed.code}) waiting for ${type}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${type}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Collects `n` envelope frames. */
  async envelopes(n: number, timeoutMs = 10_000): Promise<{ id: string; content: string; type: number }[]> {
    const out: { id: string; content: string; type: number }[] = [];
    while (out.length < n) {
      const f = await this.next('envelope', timeoutMs);
      out.push(f.envelope as { id: string; content: string; type: number });
    }
    return out;
  }

  /** Resolves when the socket has closed. */
  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null) {
      if (Date.now() > deadline) throw new Error('timed out waiting for close');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}

/** A JSON request over real HTTP. */
export async function http(
  base: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** A device enrolled over real HTTP. */
export interface HttpDevice {
  readonly orgId: string;
  readonly userId: string;
  readonly deviceId: string;
  /** The identity public key as registered (libsignal serialisation). */
  readonly identityKey: Uint8Array;
  token: string;
  headers(): Record<string, string>;
}

/** Enrols a device with `code` over HTTP and logs it in (signing the origin the server names). */
export async function httpEnrol(base: string, orgId: string, code: string): Promise<HttpDevice> {
  const keys = deviceKeys(1, 1);
  const r = await http(base, 'POST', `/v1/orgs/${orgId}/devices`, { ...keys.body, enrolmentCode: code });
  if (r.status !== 201) throw new Error(`enrolment failed: ${JSON.stringify(r.json)}`);
  const { userId, deviceId } = r.json as { userId: string; deviceId: string };
  const c = await http(base, 'POST', '/v1/auth/challenge', { orgId, deviceId });
  const { challengeId, challenge, origin } = c.json as {
    challengeId: string;
    challenge: string;
    origin: string;
  };
  const msg = new Uint8Array(
    authChallengeMessage({ origin, orgId: orgId as OrgId, deviceId: deviceId as DeviceId, challenge }),
  );
  const signature = Buffer.from(keys.identity.sign(msg)).toString('base64url');
  const t = await http(base, 'POST', '/v1/auth/token', { orgId, deviceId, challengeId, signature });
  if (t.status !== 201) throw new Error(`login failed: ${JSON.stringify(t.json)}`);
  const token = (t.json as { token: string }).token;
  return {
    orgId,
    userId,
    deviceId,
    identityKey: keys.identity.getPublicKey().serialize(),
    token,
    headers() {
      return { authorization: `Bearer ${token}`, 'custos-device': deviceId };
    },
  };
}

/** Creates an organisation with the bootstrap token; returns its admin device and a member device. */
export async function httpOrgWithMember(
  base: string,
  bootstrapToken: string,
): Promise<{ admin: HttpDevice; member: HttpDevice }> {
  const o = await http(base, 'POST', '/v1/orgs', orgCreateBody(bootstrapToken));
  if (o.status !== 201) throw new Error(`org create failed: ${JSON.stringify(o.json)}`);
  const { orgId, enrolmentCode } = o.json as { orgId: string; enrolmentCode: string };
  const admin = await httpEnrol(base, orgId, enrolmentCode);
  const u = await http(base, 'POST', `/v1/orgs/${orgId}/users`, { role: 'member' }, admin.headers());
  const { userId } = u.json as { userId: string };
  const c = await http(
    base,
    'POST',
    `/v1/orgs/${orgId}/users/${userId}/enrolment-codes`,
    {},
    admin.headers(),
  );
  const member = await httpEnrol(base, orgId, (c.json as { enrolmentCode: string }).enrolmentCode);
  return { admin, member };
}
