/** `npm run bench [filter] [--json]`: runs the benchmark suites and prints one table. */
import { applyGcTuning } from '@custos/cli/gc-tuning';
import { runSuites } from './harness.js';

// What every `custos` process does at start (packages/cli/src/bin.ts), so that the in-process
// suites (seal, open, search, export …) measure the product's runtime, baselines alike.
applyGcTuning();

const args = process.argv.slice(2);
const json = args.includes('--json');
const filter = args.find((a) => !a.startsWith('--'));
await runSuites(filter, json);
