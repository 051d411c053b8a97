import { describe, expect, it } from 'vitest';
import { newId, type OrgId } from '../ids.js';
import {
  isBootstrapTokenShaped,
  keyFingerprint,
  newBearerToken,
  newBootstrapToken,
  newEnrolmentCode,
  parseBearerToken,
  parseEnrolmentCode,
} from './secrets.js';

describe('secrets', () => {
  const orgId = newId<OrgId>();
  const fp = keyFingerprint(Buffer.alloc(32, 7));

  it('round-trips each kind and never accepts one kind as another', () => {
    const boot = newBootstrapToken();
    const code = newEnrolmentCode(orgId, fp);
    const bearer = newBearerToken(orgId);
    expect(isBootstrapTokenShaped(boot)).toBe(true);
    expect(parseEnrolmentCode(code)).toEqual({ orgId, fingerprint: fp });
    expect(parseBearerToken(bearer)).toEqual({ orgId });
    expect(isBootstrapTokenShaped(bearer) || isBootstrapTokenShaped(code)).toBe(false);
    expect(parseEnrolmentCode(bearer) ?? parseEnrolmentCode(boot)).toBeNull();
    expect(parseBearerToken(code) ?? parseBearerToken(boot)).toBeNull();
  });

  it('refuses malformed codes and tokens', () => {
    const code = newEnrolmentCode(orgId, fp);
    for (const bad of [
      '',
      code.slice(0, -1),
      `${code}.x`,
      code.replace('ce1', 'ce2'),
      code.replace(orgId, 'short'),
    ]) {
      expect(parseEnrolmentCode(bad)).toBeNull();
    }
    const bearer = newBearerToken(orgId);
    for (const bad of ['', bearer.slice(0, -1), `${bearer}.x`, bearer.replace('ct1', 'ct0'), 'ct1..']) {
      expect(parseBearerToken(bad)).toBeNull();
    }
  });

  it('makes fresh secrets each time', () => {
    expect(new Set(Array.from({ length: 100 }, () => newBearerToken(orgId))).size).toBe(100);
  });
});
