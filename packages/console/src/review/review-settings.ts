/** The org's random sampling rate for review (docs/officers.md "Daily review"), in parts per million. */
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';

/** The rate and whether it is still the server's default. */
export interface SampleRate {
  readonly ppm: number;
  readonly isDefault: boolean;
}

function rateOf(r: Record<string, unknown>): SampleRate {
  if (!Number.isSafeInteger(r.sampleRate) || typeof r.isDefault !== 'boolean')
    throw new ConsoleError('SERVER_REFUSED', 'the review settings lack sampleRate');
  return { ppm: r.sampleRate as number, isDefault: r.isDefault };
}

/** The current rate. */
export async function getSampleRate(session: OfficerSession): Promise<SampleRate> {
  return rateOf(await session.call('GET', `/v1/orgs/${session.orgId}/review/settings`));
}

/** Sets the rate (0–1,000,000 ppm); audited on the server. */
export async function setSampleRate(session: OfficerSession, ppm: number): Promise<SampleRate> {
  if (!Number.isInteger(ppm) || ppm < 0 || ppm > 1_000_000)
    throw new ConsoleError('INVALID_OPTIONS', 'the sampling rate must be 0–100 %');
  return rateOf(await session.call('PUT', `/v1/orgs/${session.orgId}/review/settings`, { sampleRate: ppm }));
}
