import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/slow-first-sequencer.js';

/**
 * Parallel e2e files. They mostly wait on child processes (servers, `custos` commands) and
 * polls, so more files than cores keep a 2-core CI machine busy; Vitest's default there is
 * one worker (cores - 1), which ran every e2e file in series (docs/development.md).
 */
const E2E_WORKERS = 2;
/**
 * Unit and fuzz files run two at a time as well: they are CPU-bound and independent (each
 * PostgreSQL test file makes its own database), and on one worker (the 2-core default) the
 * second core sat idle for the whole group, about three minutes.
 */
const UNIT_WORKERS = 2;
/**
 * Unit and fuzz hang guard. Vitest's 5 s default tripped on a shared, loaded machine (load
 * 20: record.test.ts's bit-flip tests took 12 s there, 1 s when quiet); speed is measured
 * in bench, never asserted by a timeout.
 */
const UNIT_TIMEOUT_MS = 60_000;

// Tests run from TypeScript source: the "custos-source" export condition makes
// `@custos/core` resolve to packages/core/src/index.ts instead of the built dist.
export default defineConfig({
  resolve: { conditions: ['custos-source'] },
  ssr: { resolve: { conditions: ['custos-source'] } },
  test: {
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/*.fuzz.test.ts', '**/dist/**'],
          maxWorkers: UNIT_WORKERS,
          testTimeout: UNIT_TIMEOUT_MS,
          hookTimeout: UNIT_TIMEOUT_MS,
        },
      },
      {
        extends: true,
        test: {
          name: 'fuzz',
          include: ['packages/*/src/**/*.fuzz.test.ts'],
          // Same group as unit (groupOrder 0), so the same worker count.
          maxWorkers: UNIT_WORKERS,
          testTimeout: 0,
          hookTimeout: UNIT_TIMEOUT_MS,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          // One key ceremony per run, copied into each file that needs an org (test/ceremony-template.ts).
          globalSetup: ['test/global-setup.ts'],
          maxWorkers: E2E_WORKERS,
          // A project with its own maxWorkers needs its own group: e2e runs after unit and fuzz.
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
