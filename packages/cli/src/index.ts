/** @custos/cli — the `custos` command as a library, so tests can run it in-process. */
export { runCli } from './cli.js';
export type { CliIo } from './cli.js';
