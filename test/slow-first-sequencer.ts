/**
 * Test file order: Vitest's, except that e2e files running the key ceremony or officer
 * commands (the slowest, a minute or more each) start before the other e2e files. All
 * projects share one group (vitest.config.ts) and e2e files start before the fuzz and unit
 * files, so the run ends on many short unit files
 * instead of waiting for one long file started last; CI has no Vitest cache (npm ci), so
 * Vitest's duration-based order never applies there (it orders by file size).
 *
 * Within the slow files, the first one that needs the shared ceremony template (`cliOrg(`)
 * goes first, then the files that run a ceremony of their own: while the first file builds
 * the template, the other worker works on those instead of waiting on the template's lock
 * (test/ceremony-template.ts) with a core idle.
 */
import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Source text of a file that copies the ceremony template (and waits for it while another file builds it). */
const TEMPLATE_MARK = /cliOrg\(/;
/** Source text of a file that runs a ceremony of its own (`custos demo` runs two). */
const OWN_CEREMONY_MARK = /'org',\s*'create'|\['demo'/;

const isE2e = (f: TestSpecification): boolean => f.project.name === 'e2e';

/** E2E files first, slow ones ahead of the others; then the other projects' files in Vitest's order. */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const e2e = sorted.filter(isE2e);
    const source = new Map(e2e.map((f) => [f, readFileSync(f.moduleId, 'utf8')]));
    const template = e2e.filter((f) => TEMPLATE_MARK.test(source.get(f)!));
    const own = e2e.filter(
      (f) => !TEMPLATE_MARK.test(source.get(f)!) && OWN_CEREMONY_MARK.test(source.get(f)!),
    );
    const rest = e2e.filter((f) => !template.includes(f) && !own.includes(f));
    const reordered = [...template.slice(0, 1), ...own, ...template.slice(1), ...rest];
    return [...reordered, ...sorted.filter((f) => !isE2e(f))];
  }
}
