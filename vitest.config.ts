import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/slow-first-sequencer.js';

/**
 * Files at a time, for every project: 2 on the 2-core CI machine (Vitest's default there is
 * one worker, cores - 1). E2E files partly wait on child processes and polls; unit and fuzz
 * files are CPU-bound and independent (each PostgreSQL test file makes its own database).
 * All three projects share one group (Vitest requires one worker count per group), so no
 * core idles while one project's last file ends before the next project starts: the slow
 * e2e files start first and the many short unit files fill the end (test/slow-first-sequencer.ts).
 */
const WORKERS = 2;
/**
 * Unit and fuzz hang guard. Vitest's 5 s default tripped on a shared, loaded machine (load
 * 20: record.test.ts's bit-flip tests took 12 s there, 1 s when quiet); speed is measured
 * in bench, never asserted by a timeout.
 */
const UNIT_TIMEOUT_MS = 60_000;

/**
 * Transparent huge pages for malloc in the test workers and every process they start (the
 * `custos` commands and servers inherit the environment). scrypt at the production cost
 * (N = 2^17, r = 8: 128 MiB, scrypt-params.ts) first-touches 32,768 4 KiB pages and walks them
 * at random; with 2 MiB pages each derivation took 0.35–0.4 s of CPU instead of 0.9 s (half of
 * it page faults and TLB misses), and officer commands derive one per run. Only the page size
 * changes: the parameters, the memory and the derived keys are the same. glibc reads the
 * tunable at process start, so it is set here, before Vitest starts its workers; a value
 * the caller set is kept (GLIBC_TUNABLES=glibc.malloc.hugetlb=0 turns it off). Ignored where
 * glibc is older than 2.35 or transparent huge pages are off.
 */
if (!(process.env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.hugetlb=')) {
  const tunables = process.env.GLIBC_TUNABLES;
  process.env.GLIBC_TUNABLES = `${tunables === undefined || tunables === '' ? '' : `${tunables}:`}glibc.malloc.hugetlb=1`;
}

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
          maxWorkers: WORKERS,
          // One module graph per worker instead of per file: the files share no mutable state
          // (none mocks modules or leaves fake timers or globals behind), and re-importing the
          // packages' sources for each of ~130 files cost more CPU than most files' tests.
          isolate: false,
          testTimeout: UNIT_TIMEOUT_MS,
          hookTimeout: UNIT_TIMEOUT_MS,
        },
      },
      {
        extends: true,
        test: {
          name: 'fuzz',
          include: ['packages/*/src/**/*.fuzz.test.ts'],
          maxWorkers: WORKERS,
          isolate: false,
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
          maxWorkers: WORKERS,
          // As for unit: each file starts its own servers and child processes and stops them in
          // afterAll; importing the packages' sources for the helpers cost ~3 s of CPU per file.
          isolate: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
