/**
 * The HTTP application: fastify with TypeBox validation, one error shape, a bland 404,
 * per-address and per-device rate limits, allow-listed request logs, and the declared
 * routes — nothing else (no metrics, debug, dump or inspector route: threat model F2).
 */
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { PUSHBACK_RETRY_AFTER_SECONDS } from '../log-service/log-defaults.js';
import { DEFAULT_BODY_LIMIT_BYTES } from '../config/defaults.js';
import { registerOctetStream } from '../blobs/octet-stream.js';
import { ServerError, type ServerErrorCode } from '../errors.js';
import { registerRelaySocket } from '../relay/ws-endpoint.js';
import { authenticateDevice, authorise, requireOfficerBinding } from './auth-guard.js';
import { RateLimiter } from './rate-limit.js';
import type { AnyRoute, AppDeps, AuthContext } from './route-def.js';
import { typeboxValidatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated device, on device routes. */
    custosAuth: AuthContext | null;
    /** The error code answered, for the request log. */
    custosErrorCode: ServerErrorCode | null;
  }
}

/** TLS material for HTTPS. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

const FASTIFY_CODES: Record<string, ServerErrorCode> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_BAD_URL: 'INVALID_REQUEST',
};

/** Maps anything thrown during a request to the ServerError answered. */
function toServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const fe = err as Partial<FastifyError> | null;
  const mapped = typeof fe?.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped !== undefined) return new ServerError(mapped);
  if (typeof fe?.statusCode === 'number' && fe.statusCode === 503) return new ServerError('UNAVAILABLE');
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ServerError('INVALID_REQUEST', 'the request cannot be processed');
  }
  return new ServerError('INTERNAL', 'internal error', { cause: err });
}

/** BODY_TOO_LARGE naming the route's limit, so a client knows how far to shrink the body. */
function withRouteLimit(e: ServerError, request: FastifyRequest): ServerError {
  const limit = request.routeOptions.bodyLimit;
  if (e.code !== 'BODY_TOO_LARGE' || typeof limit !== 'number') return e;
  return new ServerError('BODY_TOO_LARGE', `the body is larger than this route's limit of ${limit} bytes`, {
    details: { limit },
  });
}

/** The error answered for a request refused before routing (see `frameworkErrors` in buildApp). */
function frameworkError(err: FastifyError): ServerError {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return new ServerError('INVALID_REQUEST', 'path: not a valid URL (malformed percent-encoding)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ServerError('INVALID_REQUEST', 'path: a path parameter is too long');
    default:
      return toServerError(err);
  }
}

function sendError(request: FastifyRequest, reply: FastifyReply, e: ServerError): FastifyReply {
  request.custosErrorCode = e.code;
  // The log's backlog is full (any route that logs can say so): a client should retry soon.
  if (e.code === 'LOG_PUSHBACK') void reply.header('retry-after', String(PUSHBACK_RETRY_AFTER_SECONDS));
  const details = e.details === undefined ? {} : { details: e.details };
  return reply.code(e.statusCode).send({ error: { code: e.code, message: e.message, ...details } });
}

/** Builds the app with the given routes; call `listen` or `inject` on the result. */
export async function buildApp(
  deps: AppDeps,
  routes: readonly AnyRoute[],
  tls?: TlsMaterial,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    exposeHeadRoutes: false,
    // Refused in our own error shape by the onRequest hook below instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Malformed percent-encoding and over-long path parameters are refused before routing;
    // without this fastify answers in its own shape, echoing the raw URL and skipping our headers.
    frameworkErrors: (err, request, reply) => {
      void reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
      void sendError(request, reply, frameworkError(err));
    },
    ...(tls === undefined ? {} : { https: { cert: tls.cert, key: tls.key } }),
  }) as unknown as FastifyInstance;

  app.decorateRequest('custosAuth', null);
  app.decorateRequest('custosErrorCode', null);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // JSON only: a text/plain body is refused as an unsupported media type, not parsed as a string.
  app.removeContentTypeParser('text/plain');

  const byAddress = new RateLimiter(deps.rateLimits.address, deps.clock);
  const byDevice = new RateLimiter(deps.rateLimits.device, deps.clock);

  // Requests that arrive once close() has begun get UNAVAILABLE; those already running finish.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addHook('onRequest', async (request, reply) => {
    if (closing) {
      void reply.header('connection', 'close');
      throw new ServerError('UNAVAILABLE', 'the server is shutting down');
    }
    const decision = byAddress.take(request.ip);
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.retryAfterSeconds));
      throw new ServerError('RATE_LIMITED', 'too many requests from this address');
    }
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    // A response finished during shutdown closes its connection, so keep-alive clients do not hold close() open.
    if (closing) void reply.header('connection', 'close');
    // Public log tiles and checkpoints set their own caching; everything else is never cached.
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    void reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    deps.logger.info('request', {
      reqId: request.id,
      method: request.method,
      // The route pattern, never the raw URL: query strings and path values stay out of logs.
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
      orgId: request.custosAuth?.orgId ?? null,
      deviceId: request.custosAuth?.deviceId ?? null,
      code: request.custosErrorCode,
    });
  });

  app.setErrorHandler((err, request, reply) => {
    const e = withRouteLimit(toServerError(err), request);
    if (e.code === 'INTERNAL')
      deps.logger.error('internal-error', { reqId: request.id, route: request.routeOptions.url ?? null });
    return sendError(request, reply, e);
  });

  // A bland 404 for every unknown path: a scanner learns nothing (F2).
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new ServerError('NOT_FOUND', 'Not found.')),
  );

  registerOctetStream(app);
  await registerRelaySocket(app, deps);

  // Binary alternatives to a JSON body (archive batches): raw bytes, decoded by the handler.
  for (const type of new Set(
    routes.flatMap((r) => (r.binaryBodyType === undefined ? [] : [r.binaryBodyType])),
  )) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  }

  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: spec.url,
      bodyLimit: spec.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
      schema: {
        ...(spec.body === undefined
          ? {}
          : spec.binaryBodyType === undefined
            ? { body: spec.body }
            : // JSON is checked against the schema; the binary type has none (its handler decodes it strictly).
              { body: { content: { 'application/json': { schema: spec.body } } } }),
        ...(spec.params === undefined ? {} : { params: spec.params }),
        ...(spec.query === undefined ? {} : { querystring: spec.query }),
        response: { [spec.response.status]: spec.response.schema },
      },
      // Authentication runs before the body is read, so an anonymous caller cannot make us parse it.
      ...(spec.access.kind === 'device'
        ? {
            onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
              const auth = await authenticateDevice(request, deps, spec.access);
              request.custosAuth = auth;
              const decision = byDevice.take(`${auth.orgId}/${auth.deviceId}`);
              if (!decision.allowed) {
                void reply.header('retry-after', String(decision.retryAfterSeconds));
                throw new ServerError('RATE_LIMITED', 'too many requests from this device');
              }
              authorise(auth, spec.access, request.params);
              request.custosAuth = await requireOfficerBinding(auth, spec.access, deps);
            },
          }
        : {}),
      handler: async (request, reply) => {
        // A route with a second (binary) body type validates JSON only when it is sent, so an
        // absent body must be refused here: its handler may rely on having one.
        if (spec.body !== undefined && request.body === undefined) {
          throw new ServerError('INVALID_REQUEST', 'body: required');
        }
        const result = await spec.handler(
          {
            body: request.body,
            params: request.params,
            query: request.query,
            auth: request.custosAuth,
            request,
            reply,
          },
          deps,
        );
        return reply.code(spec.response.status).send(result);
      },
    });
  }
  return app;
}
