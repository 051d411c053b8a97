import { GAP_REASONS } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { gapReasonLabel } from './gap-reasons.js';

describe('gapReasonLabel', () => {
  it('names every reason as `code: what it means`, the code first', () => {
    expect(gapReasonLabel('server-restored')).toBe(
      'server-restored: the server was restored from an older backup after acknowledging them',
    );
    expect(gapReasonLabel('device-lost')).toBe(
      'device-lost: the device lost them before they were acknowledged',
    );
    expect(gapReasonLabel('bucket-disposed')).toBe('bucket-disposed: sealed to a disposed bucket');
    for (const r of GAP_REASONS) expect(gapReasonLabel(r)).toMatch(new RegExp(`^${r}: \\S`));
  });

  it("shows a reason it does not know as its bare code (a newer device's), never inherited words", () => {
    expect(gapReasonLabel('reason-from-the-future')).toBe('reason-from-the-future');
    expect(gapReasonLabel('constructor')).toBe('constructor');
  });
});
