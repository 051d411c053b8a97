/** errorCode reports kinds of failure, never messages. */
import { describe, expect, it } from 'vitest';
import { ServerError } from '../errors.js';
import { errorCode } from './error-code.js';

describe('errorCode', () => {
  it('takes the code of store, system and Custos errors', () => {
    expect(errorCode(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(
      'SQLITE_BUSY',
    );
    expect(errorCode(Object.assign(new Error('could not serialize'), { code: '40001' }))).toBe('40001');
    expect(errorCode(Object.assign(new Error("open 'x-wal'"), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errorCode(new ServerError('INTERNAL', 'boom'))).toBe('INTERNAL');
  });

  it('falls back to the class name, and never returns the message', () => {
    expect(errorCode(new TypeError('secret text'))).toBe('TypeError');
    const odd = Object.assign(new Error('secret text'), {
      code: 'not a code: secret text',
      name: 'also secret text',
    });
    expect(errorCode(odd)).toBe('unknown');
    expect(errorCode('secret text')).toBe('unknown');
    expect(errorCode(null)).toBe('unknown');
  });
});
