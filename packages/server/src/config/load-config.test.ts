import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { DEFAULT_LISTEN_PORT } from './defaults.js';
import { isLoopbackHost, loadConfig, type ConfigSources } from './load-config.js';

const base = (over: Partial<ConfigSources> = {}): ConfigSources => ({
  argv: [],
  env: {},
  cwd: '/srv',
  ...over,
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the named defaults', () => {
    const c = loadConfig(base());
    expect(c.dataDir).toBe('/srv/custos-data');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: DEFAULT_LISTEN_PORT });
    expect(c.store).toEqual({ kind: 'sqlite', path: '/srv/custos-data/custos.sqlite' });
    expect(c.tls).toBeNull();
    expect(c.logSigningKeyFile).toBe('/srv/custos-data/log-signing.key');
    expect(c.origin).toBeNull();
    expect(c.addressRateLimitPerSecond).toBe(20);
    expect([c.dispositionStepRecords, c.dispositionRequestMs]).toEqual([50_000, 10_000]);
    expect(Object.isFrozen(c) && Object.isFrozen(c.listen) && Object.isFrozen(c.store)).toBe(true);
  });

  it('takes the per-address rate limit from a flag', () => {
    expect(loadConfig(base({ argv: ['--address-rate-limit', '500'] })).addressRateLimitPerSecond).toBe(500);
  });

  it('takes the disposition step and request budget from flags and environment', () => {
    const c = loadConfig(
      base({ argv: ['--disposition-step', '25'], env: { CUSTOS_DISPOSITION_REQUEST_MS: '0' } }),
    );
    expect([c.dispositionStepRecords, c.dispositionRequestMs]).toEqual([25, 0]);
  });

  it('takes flags over environment over config file', () => {
    const file = JSON.stringify({ data: '/file', listen: '127.0.0.1:1', logLevel: 'warn' });
    const c = loadConfig(
      base({
        argv: ['--config', 'c.json', '--listen', '127.0.0.1:3'],
        env: { CUSTOS_LISTEN: '127.0.0.1:2', CUSTOS_DATA: '/env' },
        readFile: () => file,
      }),
    );
    expect(c.listen.port).toBe(3);
    expect(c.dataDir).toBe('/env');
    expect(c.logLevel).toBe('warn');
  });

  it('reads the config file named by CUSTOS_CONFIG', () => {
    const c = loadConfig(base({ env: { CUSTOS_CONFIG: 'x.json' }, readFile: () => '{"data":"d"}' }));
    expect(c.dataDir).toBe('/srv/d');
  });

  it('parses IPv6 listen addresses and postgres URLs', () => {
    const c = loadConfig(base({ argv: ['--listen', '[::1]:0', '--store', 'postgres://u:p@db/custos'] }));
    expect(c.listen).toEqual({ host: '::1', port: 0 });
    expect(c.store).toEqual({ kind: 'postgres', url: 'postgres://u:p@db/custos' });
  });

  it('refuses a non-loopback address without TLS, naming the setting', () => {
    const e = configError(() => loadConfig(base({ argv: ['--listen', '0.0.0.0:8443'] })));
    expect(e.setting).toBe('listen');
    expect(e.message).toMatch(/not a loopback address.*TLS/);
    const ok = loadConfig(
      base({ argv: ['--listen', '0.0.0.0:8443', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'] }),
    );
    expect(ok.tls).toEqual({ certFile: '/srv/c.pem', keyFile: '/srv/k.pem' });
  });

  it('names each bad setting', () => {
    const cases: [ConfigSources, string][] = [
      [base({ argv: ['--listen', 'nonsense'] }), 'listen'],
      [base({ argv: ['--listen', '127.0.0.1:70000'] }), 'listen'],
      [base({ env: { CUSTOS_STORE: 'mysql://x' } }), 'store'],
      [base({ argv: ['--tls-cert', 'c.pem'] }), 'tlsKey'],
      [base({ argv: ['--log-level', 'loud'] }), 'logLevel'],
      [base({ argv: ['--origin', 'https://x.org/path'] }), 'origin'],
      [base({ argv: ['--bogus', '1'] }), 'arguments'],
      [base({ argv: ['--address-rate-limit', '0'] }), 'addressRateLimit'],
      [base({ env: { CUSTOS_ADDRESS_RATE_LIMIT: 'fast' } }), 'addressRateLimit'],
      [base({ argv: ['--disposition-step', '0'] }), 'dispositionStep'],
      [base({ argv: ['--disposition-request-ms', '1000000'] }), 'dispositionRequestMs'],
      [base({ argv: ['--config', 'c.json'], readFile: () => '{"listen": 1}' }), 'listen'],
      [base({ argv: ['--config', 'c.json'], readFile: () => '{"colour": "red"}' }), 'colour'],
      [base({ argv: ['--config', 'c.json'], readFile: () => '{' }), 'config'],
      [
        base({
          argv: ['--config', 'c.json'],
          readFile: () => {
            throw new Error('ENOENT');
          },
        }),
        'config',
      ],
    ];
    for (const [sources, setting] of cases) {
      expect(configError(() => loadConfig(sources)).setting).toBe(setting);
    }
  });

  it('says what a setting accepts, not its schema', () => {
    const message = (argv: string[]): string => configError(() => loadConfig(base({ argv }))).message;
    expect(message(['--log-level', 'verbose'])).toBe(
      "configuration: logLevel: invalid value from flag --log-level: must be one of 'debug', 'info', 'warn', 'error', got 'verbose'",
    );
    expect(message(['--disposition-step', 'abc'])).toBe(
      "configuration: dispositionStep: invalid value from flag --disposition-step: must be a whole number from 1 to 9,999,999, got 'abc'",
    );
    expect(message(['--disposition-request-ms', '1000000'])).toMatch(/from 0 to 999,999, got '1000000'$/);
    expect(message(['--blob-quota', '0'])).toMatch(/must be a whole number from 1 to /);
    expect(message(['--address-rate-limit', 'fast'])).not.toMatch(/pattern|constant/);
    expect(message(['--blob-sweep', 'yes'])).toBe(
      "configuration: blobSweep: invalid value from flag --blob-sweep: must be one of 'off', 'on', got 'yes'",
    );
  });

  it('runs the blob sweep only when blobSweep is on', () => {
    expect(loadConfig(base({})).blobSweep).toBe(false);
    expect(loadConfig(base({ argv: ['--blob-sweep', 'off'] })).blobSweep).toBe(false);
    expect(loadConfig(base({ argv: ['--blob-sweep', 'on'] })).blobSweep).toBe(true);
    expect(loadConfig(base({ env: { CUSTOS_BLOB_SWEEP: 'on' } })).blobSweep).toBe(true);
  });

  it('never echoes a store URL, which may hold a password', () => {
    const e = configError(() => loadConfig(base({ argv: ['--store', 'mysql://user:hunter2@db'] })));
    expect(e.message).not.toContain('hunter2');
  });

  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.org'].some(isLoopbackHost)).toBe(false);
  });
});
