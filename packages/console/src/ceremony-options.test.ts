/** The ceremony's bootstrap refusals: what happened and what to do, including for an operator-issued token. */
import { describe, expect, it } from 'vitest';
import { bootstrapError } from './ceremony-options.js';
import { ConsoleError, isConsoleError } from './console-error.js';

const refused = (serverCode: string) =>
  new ConsoleError('SERVER_REFUSED', 'POST /v1/orgs: refused', { serverCode });

function messageOf(serverCode: string): string {
  try {
    bootstrapError(refused(serverCode));
  } catch (e) {
    if (isConsoleError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('not refused');
}

describe('bootstrap refusals', () => {
  it('sends a used token back to the operator for a new one, not for "a fresh server"', () => {
    // Servers hold many organisations: the operator issues a token per organisation.
    const used = messageOf('BOOTSTRAP_USED');
    expect(used).toMatch(/^BOOTSTRAP_USED: /);
    expect(used).toContain(
      "ask the server operator for a new token ('custos server bootstrap-token' on the server)",
    );
    expect(used).not.toContain('fresh server');
    expect(used).toContain('Nothing was registered by this run');
  });

  it('names both kinds of token for an invalid one, and how to continue', () => {
    const invalid = messageOf('BOOTSTRAP_INVALID');
    expect(invalid).toContain(
      "it is not a token this server issued (at first start, or by 'custos server bootstrap-token')",
    );
    expect(invalid).toContain('rerun with the right token to continue');
  });

  it('passes other failures through unchanged', () => {
    const other = refused('RATE_LIMITED');
    expect(() => bootstrapError(other)).toThrow(other);
  });
});
