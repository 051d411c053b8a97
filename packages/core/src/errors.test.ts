import { describe, expect, it } from 'vitest';
import { CustosError, isCustosError } from './errors.js';

describe('CustosError', () => {
  it('carries its code and cause', () => {
    const cause = new Error('inner');
    const e = new CustosError('MALFORMED_INPUT', 'bad', { cause });
    expect(e.code).toBe('MALFORMED_INPUT');
    expect(e.cause).toBe(cause);
    expect(isCustosError(e, 'MALFORMED_INPUT')).toBe(true);
    expect(isCustosError(e, 'INVALID_PROOF')).toBe(false);
    expect(isCustosError(new Error('x'))).toBe(false);
  });
});
