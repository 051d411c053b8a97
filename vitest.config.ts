import { defineConfig } from 'vitest/config';

// Tests run from TypeScript source: the "custos-source" export condition makes
// `@custos/core` resolve to packages/core/src/index.ts instead of the built dist.
export default defineConfig({
  resolve: { conditions: ['custos-source'] },
  ssr: { resolve: { conditions: ['custos-source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: ['**/*.fuzz.test.ts', '**/dist/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'fuzz',
          include: ['packages/*/src/**/*.fuzz.test.ts'],
          testTimeout: 0,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          // One key ceremony per run, copied into each file that needs an org (test/ceremony-template.ts).
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
