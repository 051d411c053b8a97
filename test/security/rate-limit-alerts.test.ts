/**
 * Threat model F14: thousands of dumps were pulled from the breached archive in a day and
 * nobody noticed. Against a real server process, one officer device fires 500 rapid
 * archive searches, then 500 rapid record fetches, then 500 rapid exports: each run is throttled (429
 * RATE_LIMITED with Retry-After and a message that says so), and each run raises exactly
 * one alert — an `alert-rate-limit` audit entry in the org's signed log, whose document
 * (GET …/alerts) names the device and the route class — not one per refused request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { encodeDeterministicCbor, type LogEntry } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logEntries } from '../client-records.js';
import {
  createOrg,
  officerBinding,
  startServer,
  stopServer,
  tempDir,
  until,
  type ServerProcess,
  type TestOrg,
} from '../client-support.js';
import { httpEnrol, type HttpDevice } from '../server-relay-support.js';

const SETUP_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 180_000;
const RAPID_CALLS = 500;

interface Outcome {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: string | undefined;
  readonly message: string | undefined;
}

describe('F14: rate limits and alerts on officer routes (server process)', () => {
  let dir: string;
  let server: ServerProcess;
  let org: TestOrg;
  let officer: HttpDevice;

  beforeAll(async () => {
    dir = tempDir('custos-rate-alerts-');
    server = await startServer(dir);
    org = await createOrg(server, join(dir, 'org'));
    const orgId = org.orgId;
    const u = (await org.admin.api.request('POST', `/v1/orgs/${orgId}/users`, {
      body: { role: 'officer' },
    })) as {
      userId: string;
    };
    const c = (await org.admin.api.request('POST', `/v1/orgs/${orgId}/users/${u.userId}/enrolment-codes`, {
      body: {},
    })) as { enrolmentCode: string };
    officer = await httpEnrol(server.url, orgId, c.enrolmentCode);
    // Bound to officer 0 as their console would: an unbound officer device is refused.
    const bound = await fetch(`${server.url}/v1/orgs/${orgId}/officer-binding`, {
      method: 'PUT',
      headers: { ...officer.headers(), 'content-type': 'application/json' },
      body: JSON.stringify({
        statement: officerBinding(orgId, officer.deviceId, officer.identityKey, org.officerSigningKey),
      }),
    });
    if (bound.status !== 200) throw new Error(`officer binding failed: ${await bound.text()}`);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await org?.admin.close().catch(() => undefined);
    await org?.officer.close().catch(() => undefined);
    if (server !== undefined) await stopServer(server);
  });

  /** Fires `n` requests, 25 at a time, as the officer device. */
  const rapid = async (n: number, req: () => { method: string; path: string; body?: unknown }) => {
    const out: Outcome[] = [];
    for (let i = 0; i < n; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, async () => {
          const r = req();
          const res = await fetch(`${server.url}${r.path}`, {
            method: r.method,
            headers: {
              ...officer.headers(),
              ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
          });
          const json = (await res.json()) as { error?: { code?: string; message?: string } };
          return {
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            code: json.error?.code,
            message: json.error?.message,
          };
        }),
      );
      out.push(...batch);
    }
    return out;
  };

  /**
   * GET …/alerts as the officer. After a burst the device's general limit may be spent too;
   * then wait for the Retry-After it states (the limit is the server's, not the test's).
   */
  const fetchAlerts = async (): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${server.url}/v1/orgs/${org.orgId}/alerts`, { headers: officer.headers() });
      if (res.status !== 429 || attempt >= 30) return res;
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 1_000 * Number(res.headers.get('retry-after') ?? '1')));
    }
  };

  const alertEntries = (entries: readonly LogEntry[]) =>
    entries.filter((e) => e.type === 'audit-event' && e.kind === 'alert-rate-limit');

  const expectThrottled = (outcomes: readonly Outcome[], what: RegExp) => {
    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status === 429);
    expect(ok.length + refused.length).toBe(outcomes.length);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(RAPID_CALLS / 2);
    for (const r of refused) {
      expect(r.code).toBe('RATE_LIMITED');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Refusals by the officer throttle say what was throttled and that an alert was raised;
    // once the device's general limit is spent too, that limit answers first.
    const own = refused.filter((r) => what.test(r.message ?? ''));
    expect(own.length).toBeGreaterThan(0);
    for (const r of own) expect(r.message).toMatch(/recorded as an alert/);
    return ok.length;
  };

  it(
    '500 rapid searches: throttled, and exactly one alert entry in the log',
    async () => {
      const path = `/v1/orgs/${org.orgId}/archive/search`;
      const outcomes = await rapid(RAPID_CALLS, () => ({
        method: 'POST',
        path,
        body: { buckets: [{ bucket: org.bucketId, tokens: [randomBytes(16).toString('base64url')] }] },
      }));
      const allowed = expectThrottled(outcomes, /too many archive searches/);
      // Every allowed search is audited; once the log holds all of them, the alert is in too.
      let entries: LogEntry[] = [];
      await until(async () => {
        entries = await logEntries(server, org);
        return (
          entries.filter((e) => e.type === 'audit-event' && e.kind === 'archive-search').length >= allowed
        );
      }, 'the allowed searches in the log');
      const alerts = alertEntries(entries);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.actor).toBe(officer.deviceId);

      // The alert's document names the device and the route class, and hashes to the entry.
      const res = await fetchAlerts();
      const body = (await res.json()) as {
        alerts: { kind: string; actorDeviceId: string; subject: string; detail: string; at: number }[];
      };
      expect(body.alerts).toHaveLength(1);
      const a = body.alerts[0]!;
      expect(a).toMatchObject({ kind: 'alert.rate-limit', actorDeviceId: officer.deviceId });
      expect(a.detail).toMatch(/^route=search /);
      const doc = encodeDeterministicCbor({
        org: org.orgId,
        kind: a.kind,
        act: a.actorDeviceId,
        sub: a.subject,
        at: a.at,
        det: a.detail,
      });
      expect(Buffer.from(alerts[0]!.hash).toString('hex')).toBe(
        createHash('sha256').update(doc).digest('hex'),
      );
    },
    STEP_TIMEOUT_MS,
  );

  it(
    '500 rapid record fetches: throttled, and one more alert (route read), not 500',
    async () => {
      // Let the device's general per-device bucket refill after the searches.
      await new Promise((r) => setTimeout(r, 7_000));
      const path = `/v1/orgs/${org.orgId}/archive/records?device=${org.admin.profile.deviceId}&limit=5`;
      const outcomes = await rapid(RAPID_CALLS, () => ({ method: 'GET', path }));
      const allowed = expectThrottled(outcomes, /too many archive record reads/);
      let entries: LogEntry[] = [];
      await until(async () => {
        entries = await logEntries(server, org);
        return entries.filter((e) => e.type === 'audit-event' && e.kind === 'archive-read').length >= allowed;
      }, 'the allowed reads in the log');
      expect(alertEntries(entries)).toHaveLength(2);
      const res = await fetchAlerts();
      const body = (await res.json()) as { alerts: { detail: string }[] };
      expect(body.alerts.map((x) => x.detail.split(' ')[0])).toEqual(['route=search', 'route=read']);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    '500 rapid exports: throttled, and one more alert (route export)',
    async () => {
      await new Promise((r) => setTimeout(r, 7_000));
      const path = `/v1/orgs/${org.orgId}/archive/exports`;
      const outcomes = await rapid(RAPID_CALLS, () => ({
        method: 'POST',
        path,
        body: { format: 'rsmf', records: 3, manifestSha256: randomBytes(32).toString('hex') },
      }));
      const allowed = outcomes.filter((o) => o.status === 201).length;
      expect(allowed).toBeGreaterThan(0);
      const refused = outcomes.filter((o) => o.status === 429);
      expect(refused.length + allowed).toBe(RAPID_CALLS);
      expect(
        refused.some((r) => /too many archive exports.*recorded as an alert/.test(r.message ?? '')),
      ).toBe(true);
      let entries: LogEntry[] = [];
      await until(async () => {
        entries = await logEntries(server, org);
        return (
          entries.filter((e) => e.type === 'audit-event' && e.kind === 'archive-export').length >= allowed
        );
      }, 'the allowed exports in the log');
      expect(alertEntries(entries)).toHaveLength(3);
      const res = await fetchAlerts();
      const body = (await res.json()) as { alerts: { detail: string }[] };
      expect(body.alerts.map((x) => x.detail.split(' ')[0])).toEqual([
        'route=search',
        'route=read',
        'route=export',
      ]);
    },
    STEP_TIMEOUT_MS,
  );
});
