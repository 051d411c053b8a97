/**
 * The e2e project's global setup: the `custos` bundle the tests spawn, rebuilt from the
 * current tsc output (scripts/bundle-cli.mjs; `tsc -b` alone does not update it), and one
 * folder per test run for the ceremony template (ceremony-template.ts), provided to every
 * test file and removed when the run ends.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const BUNDLE_SCRIPT = fileURLToPath(new URL('../scripts/bundle-cli.mjs', import.meta.url));

/** Bundles the CLI and makes the run's cache folder; returns the teardown that removes it. */
export default function setup(project: TestProject): () => void {
  execFileSync(process.execPath, [BUNDLE_SCRIPT], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'custos-ceremony-cache-'));
  project.provide('ceremonyCache', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
