/**
 * Flag parsing for `custos` commands: `--name value` or `--name=value` for string flags,
 * `--name` for booleans. A string flag's value may start with dashes (ids are base64url):
 * only another option of the command is refused as a value. Unknown, repeated or valueless flags and stray arguments are errors
 * that name the flag, so a typo never silently changes what a command does.
 */

/** What a command accepts: flag name (without dashes) → kind. */
export type FlagSpec = Readonly<Record<string, 'string' | 'boolean'>>;

/** Parsed flags: string values, and `true` for booleans present. */
export type ParsedFlags = Map<string, string | true>;

/** A command-line mistake; the message names the flag. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The ids the server names things by: 22 base64url characters (16 random bytes). */
const FULL_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * `value` when it is a whole id; otherwise a UsageError naming `what` and where the user finds
 * the id (`whereShown`), instead of the server's schema error. An officer act (releasing a hold,
 * deciding a review item) names its object exactly: no prefix is guessed at.
 */
export function fullId(value: string, what: string, whereShown: string): string {
  if (FULL_ID.test(value)) return value;
  throw new UsageError(`${what} must be a whole id (22 letters, digits, '-' or '_'), ${whereShown}`);
}

/** Parses `args` against `spec`; throws UsageError. */
export function parseFlags(args: readonly string[], spec: FlagSpec): ParsedFlags {
  const out: ParsedFlags = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (out.has(name)) throw new UsageError(`--${name} given twice`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    // Ids are base64url and may start with '-' or '--': only one of this command's own
    // options (or `--help`) is taken for a missing value, anything else is the value.
    if (value === undefined || (eq < 0 && isOption(value, spec)))
      throw new UsageError(`--${name} needs a value (a value that starts with '--': --${name}=VALUE)`);
    out.set(name, value);
  }
  return out;
}

/** True when `arg` names one of `spec`'s options (with or without a value) or `--help`. */
function isOption(arg: string, spec: FlagSpec): boolean {
  if (!arg.startsWith('--')) return false;
  const eq = arg.indexOf('=');
  const name = arg.slice(2, eq < 0 ? undefined : eq);
  return name === '' || name === 'help' || spec[name] !== undefined;
}

/** A required string flag. */
export function requireString(flags: ParsedFlags, name: string): string {
  const v = flags.get(name);
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

/** An optional string flag. */
export function optionalString(flags: ParsedFlags, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A required integer flag within [min, max]. */
export function requireInt(flags: ParsedFlags, name: string, min: number, max: number): number {
  const v = requireString(flags, name);
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return Number(v);
}

/** Flags and positional arguments of one command line. */
export interface CommandLine {
  readonly flags: ParsedFlags;
  readonly positionals: readonly string[];
}

/**
 * Like {@link parseFlags}, but arguments that are not flags are kept in order as
 * positionals (at most `maxPositionals`), and `--` ends the flags (so a message text may
 * start with dashes).
 */
export function parseCommandLine(
  args: readonly string[],
  spec: FlagSpec,
  maxPositionals: number,
): CommandLine {
  const flagArgs: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    flagArgs.push(arg);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    // A string flag's value is the next argument, even when it does not look like a flag value.
    if (eq < 0 && spec[name] === 'string' && i + 1 < args.length) flagArgs.push(args[++i]!);
  }
  const flags = parseFlags(flagArgs, spec);
  if (positionals.length > maxPositionals) {
    const extra = positionals[maxPositionals]!;
    throw new UsageError(
      maxPositionals === 0 ? `unexpected argument '${extra}'` : `too many arguments (from '${extra}')`,
    );
  }
  return { flags, positionals };
}
