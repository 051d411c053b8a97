/** `npm run bench [filter] [--json]`: runs the benchmark suites and prints one table. */
import { runSuites } from './harness.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const filter = args.find((a) => !a.startsWith('--'));
await runSuites(filter, json);
