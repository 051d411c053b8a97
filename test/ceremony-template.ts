/**
 * One key ceremony per test run, copied into each end-to-end file that needs an organisation.
 *
 * `custos org create` runs the full-strength passphrase KDF for every share and key file, so
 * a ceremony per file made the end-to-end suite slow. The first file that asks runs the real
 * ceremony (a real server, `custos org create` with 2 officers, threshold 2, from a token file),
 * stops that server and keeps its folder as a template: the server's data folder, the org
 * folder (org file, officer profiles, share files, the unused first-admin profile) and the
 * passphrase file. Every caller then gets its own copy, and its own server process on the
 * copy: each file still has an isolated org, with the keys of a real ceremony.
 *
 * Invariants: the template is written once under a lock (an mkdir) and renamed into place
 * only when complete, so a reader sees a whole template or none; it is never modified after;
 * the server is stopped before its data folder is copied. The ceremony itself stays covered
 * by org-create*.test.ts, which run their own.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inject } from 'vitest';
import type { LyingRelay } from './lying-relay.js';
import {
  startServer,
  startServerWithOrg,
  stopServer,
  type ServerArgs,
  type ServerProcess,
} from './client-support.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder for this run's ceremony templates (test/global-setup.ts), removed at the end. */
    ceremonyCache: string;
  }
}

/** Officer passphrase of the template's ceremony (both officers). */
export const TEMPLATE_OFFICER_PASSPHRASE = 'officer passphrase for tests';
/** The template's description, kept beside it (not copied). */
const META = 'template.json';
/** How long a file waits for another worker's ceremony before giving up. */
const LOCK_WAIT_MS = 900_000;
const POLL_MS = 250;

interface TemplateMeta {
  readonly url: string;
  readonly orgId: string;
  readonly adminProfile: string;
}

/** A copy of the template, served by its own server process. */
export interface CopiedOrg {
  readonly server: ServerProcess;
  /** The URL the copy's profiles name: the server's own, or its relay's. */
  readonly url: string;
  readonly orgId: string;
  /** The ceremony's first-admin profile (profile.json with its enrolment code), in the copy. */
  readonly ceremonyAdminProfile: string;
}

/** Runs a `custos …` command and returns its parsed --json output (cli-support's custosJson). */
type RunJson = <T>(args: readonly string[]) => Promise<T>;

let processCache: string | undefined;

/** This run's cache folder: the one global-setup provides, else one per worker process. */
function cacheRoot(): string {
  const provided = inject('ceremonyCache') as string | undefined;
  if (provided !== undefined) return provided;
  processCache ??= mkdtempSync(join(tmpdir(), 'custos-ceremony-cache-'));
  return processCache;
}

/** Runs the real ceremony in `dir` (layout as cli-support's cliOrg) and stops its server. */
async function runCeremony(dir: string, name: string, custosJson: RunJson): Promise<TemplateMeta> {
  const server = await startServer(dir);
  try {
    const pp = join(dir, 'officers.pass');
    writeFileSync(pp, `${TEMPLATE_OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
    const created = await custosJson<{ orgId: string; adminProfile: string }>([
      'org',
      'create',
      '--server',
      server.url,
      '--bootstrap-token-file',
      join(dir, 'bootstrap.txt'),
      '--name',
      name,
      '--officers',
      '2',
      '--threshold',
      '2',
      '--out',
      join(dir, 'org'),
      '--passphrase-file',
      pp,
    ]);
    return { url: server.url, orgId: created.orgId, adminProfile: created.adminProfile };
  } finally {
    await stopServer(server);
  }
}

/** The template folder for an org named `name`, running the ceremony if no worker has yet. */
async function template(name: string, custosJson: RunJson): Promise<string> {
  const root = cacheRoot();
  const ready = join(root, createHash('sha256').update(name).digest('hex').slice(0, 16));
  const lock = `${ready}.lock`;
  const end = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (existsSync(join(ready, META))) return ready;
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!mine) {
      if (Date.now() > end) throw new Error(`gave up waiting for the ceremony template ${ready}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    try {
      if (existsSync(join(ready, META))) return ready;
      const building = mkdtempSync(`${ready}.building-`);
      const meta = await runCeremony(building, name, custosJson);
      const rel = meta.adminProfile.startsWith(building) ? meta.adminProfile.slice(building.length + 1) : '';
      if (rel === '')
        throw new Error(`the ceremony wrote the admin profile outside its folder: ${meta.adminProfile}`);
      writeFileSync(join(building, META), JSON.stringify({ ...meta, adminProfile: rel }));
      renameSync(building, ready);
      return ready;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Every `.json` file under `dir`. */
function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? jsonFiles(p) : n.endsWith('.json') ? [p] : [];
  });
}

/**
 * Copies the ceremony template for `name` into `dir` (data/, org/, officers.pass,
 * bootstrap.txt — the layout cliOrg used to make), starts a server on the copy with `extra`,
 * and points the copied profiles and org files at that server's address — or, with `relay`,
 * at the relay's, which the server then takes as its origin (`--origin`).
 */
export async function copyCeremonyOrg(
  dir: string,
  name: string,
  extra: ServerArgs,
  custosJson: RunJson,
  relay?: LyingRelay,
): Promise<CopiedOrg> {
  const from = await template(name, custosJson);
  const meta = JSON.parse(readFileSync(join(from, META), 'utf8')) as TemplateMeta;
  cpSync(from, dir, { recursive: true, filter: (src) => basename(src) !== META });
  const server = await startServerWithOrg(
    dir,
    relay === undefined
      ? extra
      : { ...extra, serverArgs: [...(extra.serverArgs ?? []), '--origin', relay.url] },
  );
  relay?.relayTo(server.url);
  const url = relay?.url ?? server.url;
  // Only the address changes: profiles and org files name the server they were made with.
  const was = JSON.stringify(meta.url);
  let rewritten = 0;
  for (const f of jsonFiles(join(dir, 'org'))) {
    const text = readFileSync(f, 'utf8');
    if (!text.includes(was)) continue;
    writeFileSync(f, text.split(was).join(JSON.stringify(url)));
    rewritten++;
  }
  if (rewritten === 0) throw new Error(`no file in the template names its server ${meta.url}`);
  return { server, url, orgId: meta.orgId, ceremonyAdminProfile: join(dir, meta.adminProfile) };
}
