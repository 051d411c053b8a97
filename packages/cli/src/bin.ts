#!/usr/bin/env node
/**
 * The `custos` command's entry point. Users and the e2e tests run its bundle,
 * packages/cli/dist/main.js (`npm run build`: scripts/bundle-cli.mjs), not this file's tsc output.
 */
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
