/**
 * HTTP client of the Custos server API (docs/api.md): JSON in and out, the server's error
 * shape turned into a ClientError carrying its code, and device authentication by
 * challenge–response with the identity key. A token is renewed before it expires (and once
 * more when the server says it has), so callers never see token expiry.
 *
 * TLS: `https://` URLs are checked against Node's CA store plus NODE_EXTRA_CA_CERTS
 * (http-fetch.ts); plain `http://` is for loopback servers (the server itself refuses
 * non-loopback without TLS).
 */
import type { PrivateKey } from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import { AnswerTooLargeError, httpFetch, type HttpFetch, type HttpResponse } from './http-fetch.js';
import { obj, int, str } from './response-checks.js';

/** Renew a token this long before its expiry (tokens live at most 15 minutes). */
export const TOKEN_RENEW_MARGIN_MS = 2 * 60 * 1000;
/** Domain line of the signed challenge (server auth/challenge-message.ts). */
export const AUTH_SIGNATURE_DOMAIN = 'Custos device authentication v1';
/** Default timeout of one HTTP request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Who the device is, for challenge–response. */
export interface DeviceCredentials {
  readonly orgId: string;
  readonly deviceId: string;
  /** MUST NOT log: the identity private key. */
  readonly identityKey: PrivateKey;
}

/** A request. `body` is JSON; `bytes` a raw octet-stream body. */
export interface RequestOptions {
  readonly body?: unknown;
  readonly bytes?: Uint8Array;
  /** Media type of a `bytes` body (default application/octet-stream). */
  readonly contentType?: string;
  /** Send the device's bearer token (default true when credentials are set). */
  readonly auth?: boolean;
  /** How to read a 2xx answer. */
  readonly as?: 'json' | 'text' | 'bytes';
  /**
   * Largest answer accepted, in bytes (default the transport's, DEFAULT_ANSWER_LIMIT_BYTES):
   * only the few routes with larger answers name one (answer-limits.ts). A larger answer is
   * SERVER_RESPONSE_INVALID naming the request and the limit.
   */
  readonly maxAnswerBytes?: number;
}

/** Construction options. */
export interface ApiClientOptions {
  readonly clock?: () => number;
  readonly timeoutMs?: number;
  /** Replaces the HTTP transport, {@link httpFetch} (tests pass a fetch that plays a tampering server). */
  readonly fetch?: HttpFetch;
}

/** The server API over HTTP. */
export class ApiClient {
  readonly baseUrl: string;
  readonly origin: string;
  #credentials: DeviceCredentials | undefined;
  #token: { value: string; expiresAt: number } | undefined;
  #renewing: Promise<string> | undefined;

  private readonly clock: () => number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: HttpFetch;

  constructor(baseUrl: string, options: ApiClientOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? httpFetch;
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (e) {
      throw new ClientError('NETWORK', 'the server URL is not a URL', { cause: e });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ClientError('NETWORK', 'the server URL must be http:// or https://');
    this.origin = url.origin;
    this.baseUrl = url.origin + url.pathname.replace(/\/+$/, '');
  }

  /** Sets the device credentials used for authenticated requests. */
  setCredentials(c: DeviceCredentials): void {
    this.#credentials = c;
    this.#token = undefined;
  }

  /** The device id requests are made as, if any. */
  get deviceId(): string | undefined {
    return this.#credentials?.deviceId;
  }

  /** A valid bearer token, renewing it when it is within TOKEN_RENEW_MARGIN_MS of expiry. */
  async token(): Promise<string> {
    const t = this.#token;
    if (t !== undefined && t.expiresAt - this.clock() > TOKEN_RENEW_MARGIN_MS) return t.value;
    // One renewal at a time: concurrent callers share it.
    this.#renewing ??= this.#login().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  /** When the current token expires (ms), or undefined before the first login. */
  get tokenExpiresAt(): number | undefined {
    return this.#token?.expiresAt;
  }

  async #login(): Promise<string> {
    const c = this.#credentials;
    if (c === undefined) throw new ClientError('NOT_ENROLLED', 'no device credentials to log in with');
    const ch = obj(
      await this.request('POST', '/v1/auth/challenge', {
        body: { orgId: c.orgId, deviceId: c.deviceId },
        auth: false,
      }),
      'challenge',
    );
    const origin = str(ch, 'origin');
    // Sign only our own origin: a relaying phishing server gets a signature useless elsewhere.
    if (origin !== this.origin) {
      throw new ClientError(
        'SERVER_RESPONSE_INVALID',
        `the server asks for a signature over origin ${origin}, but this device reached ${this.origin}`,
      );
    }
    const message = [AUTH_SIGNATURE_DOMAIN, this.origin, c.orgId, c.deviceId, str(ch, 'challenge')].join(
      '\n',
    );
    const signature = c.identityKey.sign(new Uint8Array(Buffer.from(message, 'utf8')));
    const tok = obj(
      await this.request('POST', '/v1/auth/token', {
        body: {
          orgId: c.orgId,
          deviceId: c.deviceId,
          challengeId: str(ch, 'challengeId'),
          signature: Buffer.from(signature).toString('base64url'),
        },
        auth: false,
      }),
      'token',
    );
    this.#token = { value: str(tok, 'token'), expiresAt: int(tok, 'expiresAt') };
    return this.#token.value;
  }

  /** Performs a request; a non-2xx answer is SERVER_REFUSED with the server's code. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const useAuth = opts.auth ?? this.#credentials !== undefined;
    try {
      return await this.#once(method, path, opts, useAuth);
    } catch (e) {
      // The server may expire a token early (restart, clock skew): log in again once.
      const code = e instanceof ClientError ? e.server?.code : undefined;
      if (useAuth && (code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID')) {
        this.#token = undefined;
        return this.#once(method, path, opts, useAuth);
      }
      throw e;
    }
  }

  async #once(method: string, path: string, opts: RequestOptions, useAuth: boolean): Promise<unknown> {
    const headers: Record<string, string> = {};
    let body: string | Uint8Array | undefined;
    if (opts.bytes !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      body = opts.bytes;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    if (useAuth) {
      headers.authorization = `Bearer ${await this.token()}`;
      headers['custos-device'] = this.#credentials!.deviceId;
    }
    let res: HttpResponse;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(opts.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: opts.maxAnswerBytes }),
      });
    } catch (e) {
      if (e instanceof AnswerTooLargeError) throw answerTooLarge(method, path, e);
      // MUST NOT include the body or headers: they may hold tokens or ciphertext. Not "did not
      // answer": a server whose certificate is refused here did answer; `cause` says why.
      throw new ClientError('NETWORK', `${method} ${pathOnly(path)}: the request failed`, {
        cause: e,
      });
    }
    if (res.status >= 200 && res.status < 300) {
      try {
        if (opts.as === 'bytes') return new Uint8Array(await res.arrayBuffer());
        if (opts.as === 'text') return await res.text();
        return await res.json();
      } catch (e) {
        if (e instanceof AnswerTooLargeError) throw answerTooLarge(method, path, e);
        if (opts.as === 'bytes' || opts.as === 'text') throw e; // cut off or timed out: as the transport says
        throw new ClientError('SERVER_RESPONSE_INVALID', `${method} ${pathOnly(path)}: answer is not JSON`, {
          cause: e,
        });
      }
    }
    let code = 'UNKNOWN';
    let message = `HTTP ${res.status}`;
    let details: unknown;
    try {
      const j = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
      if (typeof j.error?.code === 'string') code = j.error.code;
      if (typeof j.error?.message === 'string') message = j.error.message;
      details = j.error?.details;
    } catch {
      // A non-JSON error body: keep the status only.
    }
    throw new ClientError('SERVER_REFUSED', `${method} ${pathOnly(path)}: ${code}: ${message}`, {
      server: { status: res.status, code, details },
    });
  }
}

/**
 * An answer past its request's limit: SERVER_RESPONSE_INVALID naming the request (method and
 * path, never the query) and the limit, and nothing else.
 */
function answerTooLarge(method: string, path: string, e: AnswerTooLargeError): ClientError {
  return new ClientError(
    'SERVER_RESPONSE_INVALID',
    `${method} ${pathOnly(path)}: the answer is larger than the limit of ${e.limit} bytes`,
  );
}

/** The path without its query (queries may hold ids worth keeping out of messages). */
function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}
