/**
 * The server half of the ingest bench (suites/server-ingest.ts), run as its own process so
 * that the load generator's HTTP client work is not charged to the server (on 2 cores the
 * two then run side by side, as a real client and server would).
 *
 * Started with `fork()` and one argument, the JSON of {@link IngestServerSpec}, on a store
 * the bench process has already seeded (org, devices, tokens, bucket). It serves the full
 * app (every route, the real ingest pipeline) and a parse-only baseline app, runs the log
 * integrator every 250 ms, and talks to its parent over IPC:
 *   → { type: 'ready', url, baselineUrl }            once both apps listen
 *   → { type: 'checkpoint', size }                   after every signed checkpoint
 *   ← { type: 'cpu' }  → { type: 'cpu', micros }     its CPU time so far (user + system)
 *   ← { type: 'close' }                              stop, close the store and exit
 *
 * INGEST_BENCH_SERVER=<a built server's index.js> runs that build instead of this checkout's
 * (before/after comparisons under the same machine load; the store schema must match).
 */
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { applyGcTuning } from '@custos/cli/gc-tuning';
import type * as CustosServer from '@custos/server';

// As `custos server` does at start (packages/cli/src/bin.ts).
applyGcTuning();

type ServerModule = typeof CustosServer;

/** What the parent asks the child to serve. */
export interface IngestServerSpec {
  readonly store: { readonly kind: 'sqlite'; readonly path: string } | { kind: 'postgres'; url: string };
  readonly integrationIntervalMs: number;
}

/** Messages the child sends. */
export type IngestServerMessage =
  | { readonly type: 'ready'; readonly url: string; readonly baselineUrl: string }
  | { readonly type: 'checkpoint'; readonly size: number }
  | { readonly type: 'cpu'; readonly micros: number };

const LIMITS = { burst: 1_000_000, perSecond: 1_000_000, maxKeys: 10_000 };

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as IngestServerSpec;
  const override = process.env.INGEST_BENCH_SERVER;
  const s = (await import(
    override === undefined || override === '' ? '@custos/server' : pathToFileURL(override).href
  )) as ServerModule;
  const send = (m: IngestServerMessage): void => void process.send?.(m);

  const stores = await s.openStore(spec.store);
  const t = await s.createTestApp(stores, {
    audit: s.sequencingAuditSink,
    rateLimits: { address: LIMITS, device: LIMITS },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/v1/archive/batches`;

  // Baseline app: same body handling and limits, handler only decodes the framing.
  const ingest = s.ALL_ROUTES.find((r) => r.url === '/v1/archive/batches')!;
  const parseOnly: CustosServer.AnyRoute = {
    ...ingest,
    access: { kind: 'public' },
    async handler({ body }) {
      const b = s.archiveTesting.decodeBatchUpload(body as Buffer);
      let n = 0;
      for (const r of b.records) n += r.length;
      return { logIndexes: [n], stored: 0, head: { seq: 0, hash: '' } };
    },
  };
  const baseApp = await s.buildApp(
    {
      stores,
      audit: s.sequencingAuditSink,
      clock: Date.now,
      logger: s.createLogger('error', () => undefined),
      origin: () => 'http://127.0.0.1',
      rateLimits: { address: LIMITS, device: LIMITS },
    },
    [parseOnly],
  );
  await baseApp.listen({ host: '127.0.0.1', port: 0 });
  const baselineUrl = `http://127.0.0.1:${(baseApp.server.address() as AddressInfo).port}/v1/archive/batches`;

  const key = generateKeyPairSync('ed25519');
  const integrator = new s.LogIntegrator({
    stores,
    key: {
      publicKey: Buffer.from(key.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url'),
      sign: (m) => edSign(null, m, key.privateKey),
    },
    host: () => 'bench.custos.test',
    logger: s.createLogger('error', () => undefined),
  });
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = performance.now();
      for (const o of await integrator.integrateAll()) send({ type: 'checkpoint', size: o.toSize });
      await new Promise((r) =>
        setTimeout(r, Math.max(0, spec.integrationIntervalMs - (performance.now() - started))),
      );
    }
  };
  const looping = loop();

  process.on('message', (m: { type: string }) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', micros: u.user + u.system });
    } else if (m.type === 'close') {
      stopped = true;
      void (async () => {
        await looping;
        await baseApp.close();
        await t.app.close();
        await stores.close();
        process.disconnect();
      })();
    }
  });
  send({ type: 'ready', url, baselineUrl });
}

await main();
