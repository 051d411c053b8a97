/**
 * Durability of the relay across a crash: the real `custos server` process takes messages,
 * the recipient acknowledges some, the process is killed with SIGKILL while more messages
 * are being sent, and after a restart on the same data folder every envelope whose send was
 * answered and not acknowledged is delivered, and no acknowledged envelope reappears.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, kill9, startServerProcess } from './server-process.js';
import { http, httpOrgWithMember, message, RelayClient, type HttpDevice } from './server-relay-support.js';

describe('relay durability across SIGKILL (real server process, SQLite)', () => {
  let dir: string;
  let child: ChildProcess | null = null;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-relay-restart-'));
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every unacknowledged envelope after a crash and no acknowledged one', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = await startServerProcess(dir, port);
    const { admin, member } = await httpOrgWithMember(
      base,
      readFileSync(join(dir, 'bootstrap'), 'utf8').trim(),
    );
    const send = async (from: HttpDevice): Promise<string | null> => {
      const r = await http(
        base,
        'PUT',
        '/v1/messages',
        message(member, [member.deviceId]),
        from.headers(),
      ).catch(() => null);
      if (r === null || r.status !== 200) return null;
      return (r.json as { envelopes: { envelopeId: string }[] }).envelopes[0]!.envelopeId;
    };

    const confirmed: string[] = [];
    for (let i = 0; i < 30; i++) confirmed.push((await send(admin))!);
    const rx = await RelayClient.connect(base, { token: member.token, deviceId: member.deviceId });
    const got = await rx.envelopes(30);
    expect(got.map((e) => e.id)).toEqual(confirmed);
    const acked = got.slice(0, 12).map((e) => e.id);
    rx.sendFrame({ type: 'ack', ids: acked, reqId: 1 });
    await rx.next('acked');

    // More sends in flight when the process dies: those answered 200 must survive.
    const inFlight = Array.from({ length: 60 }, () => send(admin));
    await new Promise((r) => setTimeout(r, 30));
    await kill9(child);
    child = null;
    const late = (await Promise.all(inFlight)).filter((id): id is string => id !== null);
    rx.close();

    child = await startServerProcess(dir, port);
    const rx2 = await RelayClient.connect(base, { token: member.token, deviceId: member.deviceId });
    const expected = [...confirmed.slice(12), ...late];
    const after = await rx2.envelopes(expected.length);
    const ids = after.map((e) => e.id);
    for (const id of expected) expect(ids).toContain(id);
    for (const id of acked) expect(ids).not.toContain(id);
    // Order is kept for the envelopes that were queued before the crash.
    expect(ids.slice(0, 18)).toEqual(confirmed.slice(12));
    // Nothing else is waiting beyond what was sent (sends cut off by the kill may or may not have committed).
    const q = await http(base, 'GET', '/v1/messages?limit=100', undefined, member.headers());
    expect((q.json as { envelopes: unknown[] }).envelopes.length).toBeLessThanOrEqual(
      60 - late.length + expected.length,
    );
    rx2.close();
    await kill9(child);
    child = null;
  });
});
