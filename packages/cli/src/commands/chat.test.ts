/**
 * What `custos chat` prints before the conversation: its heading names a peer once when the
 * address book has no name for them (before: "Chat with X (X)"); and where its prompt goes
 * (never on stdout with --json, nowhere for piped input).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AddressBook, formatAddress } from '../address-book.js';
import { describeStored } from '../message-format.js';
import { memorySettings } from '../testing/memory-settings.js';
import { chatHeading, chatPromptStream } from './chat.js';

const ORG = 'O'.repeat(22);
const BOB = { orgId: ORG, userId: 'B'.repeat(22) };
const ALICE = { orgId: ORG, userId: 'A'.repeat(22) };

describe('custos chat', () => {
  it('heads a chat with the name and the address, or the address once when there is no name', () => {
    const book = new AddressBook(memorySettings());
    expect(chatHeading({ kind: 'user', peer: BOB }, book)).toBe(`Chat with ${formatAddress(BOB)}`);
    book.add('Bob', BOB);
    expect(chatHeading({ kind: 'user', peer: BOB }, book)).toBe(`Chat with Bob (${formatAddress(BOB)})`);
    const group = { id: 'g.team', name: 'Team', members: [BOB], revision: 1, active: true };
    expect(chatHeading({ kind: 'group', group }, book)).toBe('Chat with group "Team" (g.team)');
  });

  it('prompts on stdout for a person at a terminal, on stderr with --json, and not at all for piped input', () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough() };
    expect(chatPromptStream(false, true, io)).toBe(io.stdout);
    expect(chatPromptStream(true, true, io)).toBe(io.stderr);
    expect(chatPromptStream(false, false, io)).toBeUndefined();
    expect(chatPromptStream(true, false, io)).toBeUndefined();
  });

  it("shows this user's own messages as 'you', those a profile kept as received from itself included", () => {
    const book = new AddressBook(memorySettings());
    const m = {
      id: 'abcdefgh12345678901234',
      conversation: 'dm.x',
      peer: BOB,
      from: ALICE,
      direction: 'received' as const,
      sentAt: Date.UTC(2026, 10, 28, 3, 41),
      receivedAt: 0,
      text: 'reply',
      reactions: [],
    };
    // A sync copy stored before sync copies were stored as sent.
    expect(describeStored(m, book, ALICE)).toBe('[2026-11-28 03:41] you: reply  #abcdefgh');
    expect(describeStored({ ...m, direction: 'sent' }, book)).toBe(
      '[2026-11-28 03:41] you: reply  #abcdefgh',
    );
    expect(describeStored({ ...m, from: BOB }, book, ALICE)).toBe(
      `[2026-11-28 03:41] ${formatAddress(BOB)}: reply  #abcdefgh`,
    );
  });
});
