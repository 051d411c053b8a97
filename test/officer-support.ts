/**
 * What officer e2e files share beyond the CLI helpers (cli-support.ts): a lying server (an
 * HTTP proxy in front of a real server process whose answers a test rewrites, and an officer
 * profile copy that talks to it), and a check that an officer's profile folder holds no opened
 * key (docs/officers.md §1: opened keys live only in the command's process).
 */
import { createServer, type Server } from 'node:http';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openOfficerSession } from '@custos/console';
import { base64Needles, filesUnder } from './security/canary-search.js';

/** One upstream answer a {@link lyingProxy} may rewrite. */
export interface ProxiedAnswer {
  readonly method: string;
  /** The request's path, without the query. */
  readonly path: string;
  readonly status: number;
  readonly body: Buffer;
}

/** A running proxy. */
export interface LyingProxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * An HTTP proxy to `target` whose answers pass through `rewrite` (a new body, or undefined to
 * pass the answer unchanged): a server that lies, for the CLI's processes.
 */
export async function lyingProxy(
  target: string,
  rewrite: (a: ProxiedAnswer) => Buffer | undefined,
): Promise<LyingProxy> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        const method = req.method ?? 'GET';
        const up = await fetch(`${target}${req.url ?? '/'}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
        });
        const answer = Buffer.from(await up.arrayBuffer());
        const path = new URL(req.url ?? '/', target).pathname;
        const bytes = rewrite({ method, path, status: up.status, body: answer }) ?? answer;
        const out: Record<string, string> = {};
        for (const k of ['content-type', 'retry-after']) {
          const v = up.headers.get(k);
          if (v !== null) out[k] = v;
        }
        res.writeHead(up.status, out).end(bytes);
      })().catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Rewrites a JSON answer in place with `edit` (for {@link lyingProxy}). */
export function editJson<T>(body: Buffer, edit: (json: T) => void): Buffer {
  const json = JSON.parse(body.toString('utf8')) as T;
  edit(json);
  return Buffer.from(JSON.stringify(json));
}

/** Copies the officer profile `dir` to `dest`, pointed at `serverUrl` (a proxy); resolves to `dest`. */
export function profileVia(dir: string, dest: string, serverUrl: string): string {
  cpSync(dir, dest, { recursive: true });
  const pf = join(dest, 'profile.json');
  const profile = JSON.parse(readFileSync(pf, 'utf8')) as { server: string };
  writeFileSync(pf, JSON.stringify({ ...profile, server: serverUrl }, null, 2), { mode: 0o600 });
  return dest;
}

/** One private key an officer profile opens to, by name (`officer hpke`, `bucket <id>`, …). */
export interface NamedKey {
  readonly name: string;
  readonly key: Buffer;
}

/**
 * Every private key the officer profile in `dir` opens to with `passphrase`, raw: the
 * officer's HPKE key, signing key and key-manager key, and each bucket key wrapped to them.
 * Held by the test only, to search the profile folder for them.
 */
export async function officerPrivateKeys(dir: string, passphrase: string): Promise<NamedKey[]> {
  const s = await openOfficerSession(dir, passphrase);
  try {
    const k = s.officer.keys;
    const out: NamedKey[] = [
      { name: 'officer hpke', key: Buffer.from(await k.hpkePrivateKey.exportBytes()) },
      { name: 'officer signing', key: Buffer.from(k.signingKey.exportSeed()) },
      { name: 'key manager', key: Buffer.from(k.keyManager.exportSeed()) },
    ];
    for (const id of s.officer.bucketIds) {
      const b = await s.officer.unwrapBucket(id);
      out.push({ name: `bucket ${id}`, key: Buffer.from(await b.privateKey.exportBytes()) });
    }
    return out;
  } finally {
    s.close();
  }
}

/** Where a key was found: file, key name and form. */
export interface KeyHit {
  readonly file: string;
  readonly name: string;
  readonly form: 'raw' | 'hex' | 'base64';
}

/** Files under `dir` holding any of `keys` raw, as hex (either case) or as base64/base64url (any alignment). */
export function keysInFolder(dir: string, keys: readonly NamedKey[]): KeyHit[] {
  const needles = keys.map((k) => ({
    name: k.name,
    forms: [
      { form: 'raw' as const, n: [k.key] },
      {
        form: 'hex' as const,
        n: [Buffer.from(k.key.toString('hex')), Buffer.from(k.key.toString('hex').toUpperCase())],
      },
      { form: 'base64' as const, n: base64Needles(k.key) },
    ],
  }));
  const hits: KeyHit[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const k of needles)
      for (const f of k.forms)
        if (f.n.some((n) => bytes.includes(n))) hits.push({ file, name: k.name, form: f.form });
  }
  return hits;
}
