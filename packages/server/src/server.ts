/**
 * Starts `custos server`: data folder, log-signing key, store, first-start bootstrap token,
 * the HTTP app, and a graceful shutdown on SIGTERM/SIGINT that lets in-flight requests
 * (and their commits) finish before the store closes.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ConfigError } from './config/config-error.js';
import {
  EXPIRY_SWEEP_INTERVAL_MS,
  RATE_LIMIT_ADDRESS_BURST_FACTOR,
  RATE_LIMIT_DEVICE_BURST,
  RATE_LIMIT_DEVICE_PER_SECOND,
  RATE_LIMIT_MAX_BUCKETS,
  SHUTDOWN_GRACE_MS,
} from './config/defaults.js';
import type { ServerConfig } from './config/load-config.js';
import { loadOrCreateLogSigningKey, type LogSigningKey } from './crypto/log-signing-key.js';
import { ensureBootstrapToken, firstStartText, writeBootstrapFile } from './first-start.js';
import { buildApp, type TlsMaterial } from './http/app.js';
import { ALL_ROUTES } from './http/routes/index.js';
import { createLogger } from './log/logger.js';
import { sequencingAuditSink } from './log-service/audit-sequencing.js';
import { hostOfUrl } from './log-service/checkpoint-signing.js';
import { LogIntegrator } from './log-service/integration.js';
import { SearchIndexer } from './search/search-indexer.js';
import { createMessagingServices } from './relay/messaging-services.js';
import { startPgWakeups, type PgWakeups } from './relay/pg-wakeups.js';
import { openStore } from './store/open-store.js';
import { errorCode } from './log/error-code.js';

/** Where the server writes: human text to `stdout`, JSON log lines to `stderr`. */
export interface ServerIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A started server. */
export interface RunningServer {
  /** The URL it listens on (with the port actually bound). */
  readonly url: string;
  /** The origin devices sign into auth responses. */
  readonly origin: string;
  /** The log-signing key handle (for the sequencer, later). */
  readonly logSigningKey: LogSigningKey;
  /** Stops accepting, finishes in-flight requests, closes the store. Idempotent. */
  close(): Promise<void>;
  /** Settles once the server has closed. */
  readonly closed: Promise<void>;
}

function readTls(config: ServerConfig): TlsMaterial | undefined {
  if (config.tls === null) return undefined;
  const read = (setting: 'tlsCert' | 'tlsKey', path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(setting, `cannot read ${path}`, { cause: e });
    }
  };
  return { cert: read('tlsCert', config.tls.certFile), key: read('tlsKey', config.tls.keyFile) };
}

function urlOf(address: AddressInfo, tls: boolean): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`;
}

/**
 * Starts the server; resolves once it listens. `signals: false` leaves process signals alone
 * (tests); `checkpointWorkerSource` replaces the SQLite checkpoint worker (tests make it fail).
 */
export async function startServer(
  config: ServerConfig,
  io: ServerIo,
  options: { readonly signals?: boolean; readonly checkpointWorkerSource?: string } = {},
): Promise<RunningServer> {
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    // The folder holds the database and the log-signing key: owner only, even if it existed before.
    chmodSync(config.dataDir, 0o700);
  } catch (e) {
    throw new ConfigError('data', `cannot create ${config.dataDir}`, { cause: e });
  }
  const tls = readTls(config);
  const { key: logSigningKey, created: keyCreated } = loadOrCreateLogSigningKey(config.logSigningKeyFile);
  const logger = createLogger(config.logLevel, (line) => io.stderr.write(line));
  const stores = await openStore(config.store, {
    // Commits stay durable, but each checkpoint now runs inside a COMMIT: slower writes and
    // relay latency until a restart brings the worker back (docs/operations.md). The code only.
    onCheckpointWorkerFailure: (cause) =>
      logger.warn('sqlite-checkpoint-worker-failed', { code: errorCode(cause) }),
    ...(options.checkpointWorkerSource === undefined
      ? {}
      : { checkpointWorkerSource: options.checkpointWorkerSource }),
  });

  const messaging = createMessagingServices({
    stores,
    clock: Date.now,
    settings: { blobQuotaBytes: config.blobQuotaBytes },
  });
  let wakeups: PgWakeups | null = null;
  if (config.store.kind === 'postgres') {
    try {
      wakeups = await startPgWakeups(config.store.url, messaging.hub, logger);
    } catch (e) {
      await stores.close();
      throw e;
    }
  }
  messaging.startSweeps(logger);

  let origin = config.origin ?? '';
  const app = await buildApp(
    {
      stores,
      messaging,
      audit: sequencingAuditSink,
      clock: Date.now,
      logger,
      origin: () => origin,
      disposition: { recordsPerStep: config.dispositionStepRecords, requestMs: config.dispositionRequestMs },
      rateLimits: {
        address: {
          burst: config.addressRateLimitPerSecond * RATE_LIMIT_ADDRESS_BURST_FACTOR,
          perSecond: config.addressRateLimitPerSecond,
          maxKeys: RATE_LIMIT_MAX_BUCKETS,
        },
        device: {
          burst: RATE_LIMIT_DEVICE_BURST,
          perSecond: RATE_LIMIT_DEVICE_PER_SECOND,
          maxKeys: RATE_LIMIT_MAX_BUCKETS,
        },
      },
    },
    ALL_ROUTES,
    tls,
  );
  const bootstrap = await ensureBootstrapToken(stores, Date.now());
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (e) {
    await stores.close();
    throw e;
  }
  const address = app.server.address() as AddressInfo;
  const url = urlOf(address, tls !== undefined);
  if (origin === '') origin = url;

  logger.info('listening', { listen: url, store: stores.kind });
  if (keyCreated) logger.info('log-signing-key-created');
  io.stdout.write(
    `Custos server ${stores.kind === 'sqlite' ? `(SQLite in ${config.dataDir})` : '(PostgreSQL)'}\n`,
  );
  // One write: a reader that waits for the "Listening on" line then has the bootstrap text too.
  let startText = `Listening on ${url}\n`;
  if (bootstrap.kind === 'token') {
    if (config.bootstrapOut !== null) writeBootstrapFile(config.bootstrapOut, bootstrap.token);
    startText += firstStartText(
      bootstrap.token,
      origin,
      config.bootstrapOut,
      stores.kind === 'sqlite' ? config.dataDir : null,
    );
  }

  // The log integrator: sequenced entries become signed checkpoints every interval. A log's
  // origin is fixed when it is created, so a later change of `origin` does not rename it.
  const integrator = new LogIntegrator({ stores, key: logSigningKey, host: () => hostOfUrl(origin), logger });
  integrator.start();
  // The search indexer: integrated archive records become posting blocks after commit (docs/search.md).
  const indexer = new SearchIndexer({ stores, logger });
  indexer.start();

  const sweep = setInterval(() => {
    const now = Date.now();
    Promise.all([stores.authChallenges.deleteExpired(now), stores.authTokens.deleteExpired(now)]).catch(() =>
      logger.warn('expiry-sweep-failed'),
    );
  }, EXPIRY_SWEEP_INTERVAL_MS);
  sweep.unref();

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('shutdown', { signal });
    void close();
  };
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(sweep);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // app.close() stops accepting and waits for in-flight requests; the grace timer bounds a stuck client.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => {
        timer = setTimeout(r, SHUTDOWN_GRACE_MS);
        timer.unref();
      });
      await Promise.race([app.close(), grace]);
      clearTimeout(timer);
      // Accepted relay writes commit before the store closes.
      await messaging.close();
      // Everything acknowledged gets into a signed checkpoint before the store closes.
      await integrator.stop();
      await integrator
        .integrateAll()
        .catch((e: unknown) => logger.error('log-integration-failed', { code: errorCode(e) }));
      await indexer.stop();
      await wakeups?.close();
      await stores.close();
      logger.info('stopped');
      resolveClosed();
    })();
    return closing;
  };
  if (options.signals !== false) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  // Printed only once SIGTERM/SIGINT shut down gracefully: a supervisor (or test) that stops
  // the server as soon as it reads "Listening on" must not meet the default, abrupt handler.
  io.stdout.write(startText);
  return { url, origin, logSigningKey, close, closed };
}
