/** The hold listing as the console reads it from a server, old or new. */
import { describe, expect, it } from 'vitest';
import type { OfficerSession } from '../officer-session.js';
import { listHolds } from './officer-holds.js';

/** A session whose server answers the one listing page with `holds`. */
function sessionAnswering(holds: unknown[]): OfficerSession {
  return { orgId: 'org1', call: async () => ({ holds }) } as unknown as OfficerSession;
}

const hold = {
  holdId: 'h1',
  kind: 'custodian',
  matter: 'Matter 1',
  buckets: [],
  createdBy: 'dev1',
  createdAt: 1,
  releasedBy: null,
};

describe('listHolds', () => {
  it("reads a server's users, and takes a server that sends none (older) as users unknown", async () => {
    const [named] = await listHolds(
      sessionAnswering([{ ...hold, createdByUser: 'alice', releasedByUser: null }]),
    );
    expect(named).toMatchObject({ createdBy: 'dev1', createdByUser: 'alice', releasedByUser: null });
    const [older] = await listHolds(sessionAnswering([hold]));
    expect(older).toMatchObject({ createdBy: 'dev1', createdByUser: null, releasedByUser: null });
  });

  it('refuses users named by anything but ids', async () => {
    await expect(listHolds(sessionAnswering([{ ...hold, createdByUser: 7 }]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
    });
  });
});
