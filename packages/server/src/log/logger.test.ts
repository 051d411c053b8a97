import { describe, expect, it } from 'vitest';
import { createLogger, type LogFields } from './logger.js';

describe('logger', () => {
  it('writes only allow-listed fields, as one JSON line', () => {
    const lines: string[] = [];
    const log = createLogger(
      'info',
      (l) => lines.push(l),
      () => 0,
    );
    const sneaky = {
      route: '/v1/orgs',
      status: 201,
      authorization: 'Bearer secret',
      body: '{"x":1}',
    } as LogFields;
    log.info('request', sneaky);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      event: 'request',
      route: '/v1/orgs',
      status: 201,
    });
    expect(lines[0]).not.toContain('secret');
  });

  it('drops non-scalar values and truncates long strings', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.debug('x', { route: 'a'.repeat(1000), code: { nested: 'secret' } as unknown as string });
    const parsed = JSON.parse(lines[0]!);
    expect(parsed.route).toHaveLength(200);
    expect(parsed.code).toBeUndefined();
  });

  it('filters by level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l));
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['c', 'd']);
  });
});
