#!/usr/bin/env node
/** The `custos` command. A thin shell over the packages; filled by later issues. */
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
