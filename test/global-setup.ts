/**
 * The e2e project's global setup: one folder per test run for the ceremony template
 * (ceremony-template.ts), provided to every test file and removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/** Makes the run's cache folder; returns the teardown that removes it. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'custos-ceremony-cache-'));
  project.provide('ceremonyCache', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
