/**
 * The few server routes the key ceremony calls (docs/api.md), over the client's HTTP transport
 * (not the global fetch: @custos/client's http-fetch.ts says why). Only public and
 * wrapped material goes out: the org's public keys, the signed delegation and bucket
 * documents, and a transient ceremony device's public keys. Bytes travel as unpadded base64url.
 */
// The transport alone, not @custos/client's index: the console does not load the device SDK.
import { BLOB_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { AnswerTooLargeError, httpFetch, type HttpFetch, type HttpResponse } from '@custos/client/http-fetch';
import { ConsoleError } from './console-error.js';

/** Wait for one request before calling the server unreachable. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Times a rate-limited request (429) is retried, waiting as the server's Retry-After says. */
export const RATE_LIMIT_RETRIES = 5;
/** Longest wait honoured for one Retry-After, in seconds. */
const MAX_RETRY_AFTER_SECONDS = 30;

/** Unpadded base64url, the API's byte encoding. */
export const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');

/** The POST /v1/orgs body without the bootstrap token. */
export interface CreateOrgRequest {
  /** Chosen by the ceremony, because the archive policy statement names it (absent in older journals). */
  readonly orgId?: string;
  readonly name: string;
  readonly signingPublicKey: string;
  readonly rootArchivePublicKey: string;
  readonly keyManager: { readonly delegation: string; readonly notBefore: number; readonly notAfter: number };
  readonly officers: readonly { readonly publicKey: string }[];
  readonly officerQuorum: number;
  /** The archive policy statement signed with the org signing key (core/org-docs/archive-policy.ts). */
  readonly archivePolicyStatement?: string;
}

/** The POST /v1/orgs answer. */
export interface CreateOrgResponse {
  readonly orgId: string;
  readonly adminUserId: string;
  readonly enrolmentCode: string;
  readonly enrolmentCodeExpiresAt: number;
  readonly signingKeyFingerprint: string;
}

/** A device's bearer credentials. */
export interface DeviceAuth {
  readonly deviceId: string;
  readonly token: string;
}

type Json = Record<string, unknown>;

/** Options of one request. */
export interface CallOptions {
  /**
   * Largest answer accepted, in bytes (default the transport's, DEFAULT_ANSWER_LIMIT_BYTES):
   * only routes with larger answers name one (@custos/client/answer-limits). A larger answer is
   * SERVER_REFUSED naming the request and the limit.
   */
  readonly maxAnswerBytes?: number;
}

/** Client for the ceremony's routes on one server. */
export class CeremonyApi {
  readonly baseUrl: string;

  /** `fetch` replaces the HTTP transport (tests lose an answer on the way). */
  constructor(
    baseUrl: string,
    private readonly fetch: HttpFetch = httpFetch,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /**
   * The origin this console reached (scheme://host[:port]): the only one its devices sign into
   * a login, and the one they enrol under (ceremony-device.ts).
   */
  get origin(): string {
    return new URL(this.baseUrl).origin;
  }

  /** Sends one JSON request; resolves to the 2xx body, or throws ConsoleError naming the server's code. */
  async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    auth?: DeviceAuth,
    options: CallOptions = {},
  ): Promise<Json> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth !== undefined) {
      headers.authorization = `Bearer ${auth.token}`;
      headers['custos-device'] = auth.deviceId;
    }
    let res: HttpResponse | undefined;
    // Bulk officer work (a year of bucket keys, index keys for every device) outruns the
    // per-device rate limit; the server says when to come back, and a 429 was not processed.
    for (
      let attempt = 0;
      res === undefined || (res.status === 429 && attempt <= RATE_LIMIT_RETRIES);
      attempt++
    ) {
      if (res !== undefined) {
        const after = Number(res.headers.get('retry-after'));
        await res.body?.cancel();
        const seconds = Number.isFinite(after) && after > 0 ? Math.min(after, MAX_RETRY_AFTER_SECONDS) : 1;
        await new Promise((r) => setTimeout(r, seconds * 1000));
      }
      try {
        res = await this.fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          ...(options.maxAnswerBytes === undefined ? {} : { maxAnswerBytes: options.maxAnswerBytes }),
        });
      } catch (e) {
        if (e instanceof AnswerTooLargeError) throw answerTooLarge(method, path, e);
        throw new ConsoleError('SERVER_UNREACHABLE', `cannot reach the server at ${this.baseUrl}`, {
          cause: e,
        });
      }
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      if (e instanceof AnswerTooLargeError) throw answerTooLarge(method, path, e);
      throw new ConsoleError(
        'SERVER_REFUSED',
        `${method} ${routeName(path)}: the server answered ${res.status} without JSON`,
        {
          cause: e,
        },
      );
    }
    if (res.ok && typeof json === 'object' && json !== null) return json as Json;
    const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
    const message = typeof err?.message === 'string' ? err.message : 'no message';
    throw new ConsoleError('SERVER_REFUSED', `${method} ${routeName(path)}: ${code}: ${message}`, {
      serverCode: code,
      serverDetails: err?.details,
    });
  }

  /**
   * GETs raw bytes (a blob, at most BLOB_ANSWER_LIMIT_BYTES) as `auth`; ConsoleError
   * SERVER_REFUSED naming the server's code otherwise.
   */
  async download(path: string, auth: DeviceAuth): Promise<Uint8Array> {
    let res: HttpResponse;
    try {
      res = await this.fetch(`${this.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${auth.token}`, 'custos-device': auth.deviceId },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        maxAnswerBytes: BLOB_ANSWER_LIMIT_BYTES,
      });
    } catch (e) {
      if (e instanceof AnswerTooLargeError) throw answerTooLarge('GET', path, e);
      throw new ConsoleError('SERVER_UNREACHABLE', `cannot reach the server at ${this.baseUrl}`, {
        cause: e,
      });
    }
    if (res.ok) {
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        if (e instanceof AnswerTooLargeError) throw answerTooLarge('GET', path, e);
        throw e;
      }
    }
    let code = `HTTP_${res.status}`;
    try {
      const err = ((await res.json()) as { error?: { code?: unknown } } | null)?.error;
      if (typeof err?.code === 'string') code = err.code;
    } catch {
      // not JSON: keep the HTTP status
    }
    throw new ConsoleError('SERVER_REFUSED', `GET ${routeName(path)}: ${code}`, { serverCode: code });
  }

  /**
   * POST /v1/orgs, under the origin this console reached: every profile the ceremony writes
   * names it, so a server with another --origin refuses before the token is spent (not sent
   * from the journal's request, so a journal written before the field resumes unchanged).
   */
  async createOrg(bootstrapToken: string, body: CreateOrgRequest): Promise<CreateOrgResponse> {
    const r = await this.call('POST', '/v1/orgs', { bootstrapToken, ...body, origin: this.origin });
    const ok =
      typeof r.orgId === 'string' &&
      typeof r.adminUserId === 'string' &&
      typeof r.enrolmentCode === 'string' &&
      typeof r.enrolmentCodeExpiresAt === 'number' &&
      typeof r.signingKeyFingerprint === 'string';
    if (!ok) throw new ConsoleError('SERVER_REFUSED', 'POST /v1/orgs: the answer lacks required fields');
    return r as unknown as CreateOrgResponse;
  }
}

/**
 * An answer past its request's limit: SERVER_REFUSED naming the request (method and path, never
 * the query) and the limit, and nothing else.
 */
function answerTooLarge(method: string, path: string, e: AnswerTooLargeError): ConsoleError {
  return new ConsoleError(
    'SERVER_REFUSED',
    `${method} ${routeName(path)}: the answer is larger than the limit of ${e.limit} bytes`,
  );
}

/** A path with ids elided, for messages (ids are not secret, but enrolment codes never appear in paths). */
function routeName(path: string): string {
  return path.split('?')[0]!;
}
