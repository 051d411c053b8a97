/**
 * Tests' officer sessions over a real CeremonyApi: a console command's reads go over HTTP to a
 * small stand-in server, with a fresh profile folder; `extra` adds what a test's command needs
 * beyond that (an officer's org file, org keys, buckets).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CeremonyApi } from './ceremony-api.js';
import type { OfficerSession } from './officer-session.js';

export function httpOfficerSession(url: string, orgId: string, extra: object = {}): OfficerSession {
  const api = new CeremonyApi(url);
  return {
    dir: mkdtempSync(join(tmpdir(), 'custos-officer-session-')),
    orgId,
    api,
    call: (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, options?: object) =>
      api.call(method, path, body, undefined, options),
    ...extra,
  } as unknown as OfficerSession;
}
