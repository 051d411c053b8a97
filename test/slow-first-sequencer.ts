/**
 * Test file order: Vitest's, except that e2e files running the key ceremony or officer
 * commands (the slowest, a minute or more each) start before the other e2e files. With
 * several e2e workers the run then ends on short files instead of waiting for one long file
 * started last; CI has no Vitest cache (npm ci), so Vitest's duration-based order never applies there.
 */
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Source text that marks a slow e2e file: `cliOrg(` (ceremony copy, officer commands) or a ceremony of its own. */
const SLOW_MARK = /cliOrg\(|'org',\s*'create'/;

const isE2e = (f: TestSpecification): boolean => f.project.name === 'e2e';

/** Vitest's order, with slow e2e files moved ahead of the other e2e files (stable otherwise). */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const e2e = sorted.filter(isE2e);
    const slow = new Set(e2e.filter((f) => SLOW_MARK.test(readFileSync(f.moduleId, 'utf8'))));
    const reordered = [...e2e.filter((f) => slow.has(f)), ...e2e.filter((f) => !slow.has(f))];
    let next = 0;
    return sorted.map((f) => (isE2e(f) ? reordered[next++]! : f));
  }
}
