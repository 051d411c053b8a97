/**
 * The HTTP requests `custos` makes to the server (ApiClient, the console's CeremonyApi and
 * log reader, `custos doctor`), over node:http and node:https, in the shape of `fetch`.
 *
 * Why not the global fetch: on Node 20 its first call loads and compiles the bundled undici
 * and its WebAssembly HTTP parser, about 80 ms of CPU before the first answer and 200 ms more
 * after it, before the process can exit, in every `custos` process that talks to the server;
 * node:http costs a small part of that (docs/development.md, "No undici in `custos`").
 *
 * What it keeps from fetch:
 * - TLS: certificates are checked against Node's CA store plus NODE_EXTRA_CA_CERTS, the same
 *   defaults fetch uses; a refused certificate is the same error code (DEPTH_ZERO_SELF_SIGNED_CERT…).
 * - Failures: a request that gets no answer rejects with a TypeError whose `cause` is Node's
 *   own error (ECONNREFUSED, ENOTFOUND, a certificate code), as fetch's "fetch failed" does,
 *   so cli/fetch-failure.ts reads the reason out of either.
 * - Timeouts: an AbortSignal ends the request, and the reading of its answer, rejecting with
 *   the signal's reason (a TimeoutError for AbortSignal.timeout).
 * - Connections are kept alive and reused; idle ones never keep the process running (the
 *   agent unrefs them) and close after IDLE_CONNECTION_MS, or sooner when the server's
 *   Keep-Alive hint says so.
 * - URLs with credentials (`https://user:pw@host/`) are refused, as fetch refused them: node:http
 *   would send them as an `Authorization: Basic` header to whatever server the URL names.
 *
 * What it adds: an answer larger than the request's limit is refused — early when its
 * content-length says so, else the connection is closed as the limit is passed — so a hostile
 * server or proxy answering with an endless body cannot make `custos` run out of memory. Each
 * request names the most it accepts (`maxAnswerBytes`, sized from the server's own limits for
 * the few large answers: answer-limits.ts); one that names none accepts
 * DEFAULT_ANSWER_LIMIT_BYTES. `body.cancel()` closes an answer still arriving (its connection is
 * not reused).
 *
 * What it does not: follow redirects (a 3xx is returned as it is: the API never redirects, and
 * following one would send the bearer token to an address the user did not name), refuse the
 * ports browsers block (fetch refused a server on port 6000 or 10080 as a "bad port"), ask for
 * compressed answers, or stream: an answer is read whole, as every caller reads it.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished } from 'node:stream';

/** How long an idle connection is kept for the next request (undici's default); a shorter server hint wins. */
export const IDLE_CONNECTION_MS = 4_000;

/**
 * Largest answer read for a request that names no limit of its own. Every JSON answer of the
 * server fits (docs/api.md), except the few whose callers name a larger limit
 * (answer-limits.ts: pages of archive records, message pages, blobs, completeness reports and
 * other officer lists). The largest answer left to it is a prekey bundle of every device of a
 * user: up to 1,000 devices (server prekey-routes.ts MAX_BUNDLE_DEVICES), each about 3.4 KB
 * (its Kyber prekey is 2,731 characters of base64url), 3.4 MB in all; checkpoints, proofs and
 * receipts are at most about 1 MiB (core MAX_RECEIPT_BYTES). 4 MiB bounds what a hostile server
 * can make a device hold in answer to a request that is never more than a few KiB.
 */
export const DEFAULT_ANSWER_LIMIT_BYTES = 4 * 1024 * 1024;

/** What a request carries: the subset of fetch's RequestInit Custos uses. */
export interface HttpRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A string is sent as UTF-8. */
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
  /**
   * Largest answer body read for this request, in bytes (default: the transport's,
   * DEFAULT_ANSWER_LIMIT_BYTES); a larger one rejects with {@link AnswerTooLargeError}. The
   * global fetch ignores it.
   */
  readonly maxAnswerBytes?: number;
}

/** The parts of an answer Custos reads: a subset of fetch's Response (which satisfies it). */
export interface HttpResponse {
  readonly status: number;
  /** Status 200–299. */
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: { cancel(): Promise<void> } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** A fetch-shaped request function; the global fetch is one (tests pass it, or wrap it). */
export type HttpFetch = (url: string, init?: HttpRequestInit) => Promise<HttpResponse>;

/** Options of {@link createHttpFetch}. */
export interface HttpFetchOptions {
  /**
   * Certificates to trust for https:// instead of Node's CA store (tests trust a certificate
   * they made). Unset in `custos`: trust is the CA store plus NODE_EXTRA_CA_CERTS.
   */
  readonly ca?: string | Uint8Array;
  /** Largest answer body read for a request that names none, in bytes (default DEFAULT_ANSWER_LIMIT_BYTES). */
  readonly maxAnswerBytes?: number;
}

/** Methods retried once when a kept-alive connection turns out closed: safe to send twice. */
const RETRIED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** A request function with its own connection pools. */
export function createHttpFetch(options: HttpFetchOptions = {}): HttpFetch {
  const pool = { keepAlive: true, scheduling: 'lifo', timeout: IDLE_CONNECTION_MS } as const;
  const agents = {
    http: new HttpAgent(pool),
    https: new HttpsAgent(options.ca === undefined ? pool : { ...pool, ca: Buffer.from(options.ca) }),
  };
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_ANSWER_LIMIT_BYTES;
  return (url, init = {}) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (e) {
      return Promise.reject(new TypeError('the request URL is not a URL', { cause: e }));
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      return Promise.reject(new TypeError(`cannot request a ${target.protocol} URL`));
    // Never the credentials themselves in the message: the origin leaves them out.
    if (target.username !== '' || target.password !== '')
      return Promise.reject(
        new TypeError(`the URL of ${target.origin} carries credentials (user:password@): leave them out`),
      );
    return send(target, init, { agents, maxAnswerBytes }, true);
  };
}

/** The request function `custos` uses: Node's CA store plus NODE_EXTRA_CA_CERTS. */
export const httpFetch: HttpFetch = createHttpFetch();

/** What every request of one createHttpFetch shares. */
interface Transport {
  readonly agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  /** Limit of a request that names none. */
  readonly maxAnswerBytes: number;
}

/**
 * An answer past its request's limit: a TypeError, as fetch's failures are. Its message names the
 * request by method and path and the limit, and nothing else: not the origin, not the query
 * (it may hold ids worth keeping out of messages), never a header or a byte of the answer.
 */
export class AnswerTooLargeError extends TypeError {
  override readonly name = 'AnswerTooLargeError';

  constructor(
    /** Method and path of the request, e.g. `GET /v1/messages`. */
    readonly request: string,
    /** The limit the answer passed, in bytes. */
    readonly limit: number,
  ) {
    super(`${request}: the answer is larger than the limit of ${limit} bytes`);
  }
}

function send(
  url: URL,
  init: HttpRequestInit,
  transport: Transport,
  mayRetry: boolean,
): Promise<HttpResponse> {
  const { agents } = transport;
  const { signal } = init;
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  const method = (init.method ?? 'GET').toUpperCase();
  const limit = init.maxAnswerBytes ?? transport.maxAnswerBytes;
  const tooLarge = (): AnswerTooLargeError => new AnswerTooLargeError(`${method} ${url.pathname}`, limit);
  const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) headers['content-length'] = String(body.byteLength);
  const https = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(url, {
      method,
      headers,
      agent: https ? agents.https : agents.http,
    });
    const onAbort = (): void => {
      req.destroy(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    let answered = false;
    req.on('error', (e: Error & { code?: unknown }) => {
      // After the answer began, its reading reports the failure (below).
      if (answered) return;
      done();
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      // The server closed a kept-alive connection as this request went out on it: nothing was
      // answered, so a request that is safe to repeat goes once more, on a new connection.
      if (mayRetry && req.reusedSocket && e.code === 'ECONNRESET' && RETRIED_METHODS.has(method)) {
        resolve(send(url, init, transport, false));
        return;
      }
      // fetch's shape: no code of its own, Node's reason in `cause` (cli/fetch-failure.ts).
      reject(new TypeError(`the request to ${url.origin} failed`, { cause: e }));
    });
    req.on('response', (res) => {
      answered = true;
      // Refused before any of it is read when the server says how large it is.
      if (Number(res.headers['content-length']) > limit) {
        done();
        res.destroy();
        reject(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      let over = false;
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received <= limit) chunks.push(chunk);
        else if (!over) {
          // An answer without a content-length (chunked): its connection closes here.
          over = true;
          chunks.length = 0;
          res.destroy();
        }
      });
      // Read at once, whether or not the caller reads it: the connection goes back to the pool.
      const whole = new Promise<Buffer>((ok, fail) => {
        finished(res, (e) => {
          done();
          if (over) fail(tooLarge());
          else if (e === undefined || e === null) ok(Buffer.concat(chunks));
          else if (signal?.aborted === true) fail(signal.reason as Error);
          else fail(new TypeError(`the answer from ${url.origin} was cut off`, { cause: e }));
        });
      });
      whole.catch(() => undefined); // an unread answer's failure is nobody's error
      resolve(
        new NodeHttpResponse(res.statusCode ?? 0, res.headers, whole, () => {
          // An answer still arriving is closed with its connection, not read to its end.
          chunks.length = 0;
          res.destroy();
        }),
      );
    });
    req.end(body);
  });
}

/** An answer read whole by {@link send}; its body is read once, as fetch's is. */
class NodeHttpResponse implements HttpResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  readonly body: { cancel(): Promise<void> };
  #used = false;

  constructor(
    readonly status: number,
    raw: IncomingHttpHeaders,
    private readonly whole: Promise<Buffer>,
    close: () => void,
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get: (name) => {
        const v = raw[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
    this.body = {
      cancel: () => {
        this.#used = true;
        close();
        return Promise.resolve();
      },
    };
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#take();
    // Buffer.concat may return a slice of Node's shared pool: hand out only these bytes.
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
      ? (b.buffer as ArrayBuffer)
      : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }

  async text(): Promise<string> {
    // As fetch decodes: UTF-8, a byte-order mark dropped, bad bytes replaced.
    return new TextDecoder().decode(await this.#take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  #take(): Promise<Buffer> {
    if (this.#used) return Promise.reject(new TypeError('the answer was already read'));
    this.#used = true;
    return this.whole;
  }
}
