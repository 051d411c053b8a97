/**
 * `custos chat USER`: an interactive conversation. Incoming messages arrive live over the
 * relay WebSocket and are printed above the prompt; each line typed is sent (and archived)
 * in order. Commands: /reply ID TEXT, /edit ID TEXT, /delete ID, /react ID EMOJI, /help,
 * /quit (or end of input). With --json, every event is printed as one JSON line. While the
 * chat is open the client uploads its archive records in the background (received ones
 * too); on exit it closes the socket, then uploads what is left and verifies receipts.
 * It holds the profile open throughout: other `custos` commands on it are refused with
 * PROFILE_IN_USE (LocalStore's lock) until it quits.
 */
import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { CustosClient, MessageEvent, OutgoingContent } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook, formatAddress } from '../address-book.js';
import {
  archivedByLine,
  inTarget,
  resolveTarget,
  targetArchivedBy,
  targetLabel,
  targetMessages,
  type Target,
} from '../conversation-target.js';
import { CliFailure, explainFailure, runCommand, type CommandContext } from '../command-runner.js';
import { describeEvent, describeStored, eventJson, resolveMessageId } from '../message-format.js';
import { openProfile, PROFILE_FLAGS, PROFILE_OPTIONS_HELP } from '../profile-access.js';
import { peerText, terminalSafe } from '../terminal-text.js';
import { blockedInUserTerms, describeWarning, takeNewWarnings, warningJson } from '../warning-display.js';
import { sendTo } from './send.js';

/** Messages of the conversation shown when the chat opens. */
export const CHAT_HISTORY_LINES = 10;

const CHAT_HELP = `Type a message and press Enter to send it. Commands:
  /reply ID TEXT   /edit ID TEXT   /delete ID   /react ID EMOJI   /help   /quit`;

const USAGE = `Usage: custos chat USER|GROUP [--profile DIR] [--passphrase-file FILE] [--json]

An interactive conversation with USER (a contact name or USERID@ORGID) or a GROUP (its name
or id): new messages appear as they arrive; what you type is sent when you press Enter. With
--json each event is one JSON line on stdout (the prompt, on a terminal, goes to stderr).
${CHAT_HELP}

The chat holds the profile until it quits: a profile is used by one custos process at a
time, so other commands on it (sync, send, pending) are refused (PROFILE_IN_USE) until then.

${PROFILE_OPTIONS_HELP}`;

/** Parses one typed line into content, or a command word ('quit', 'help'). */
export function parseChatLine(
  line: string,
  resolveId: (id: string) => string,
): OutgoingContent | 'quit' | 'help' | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  if (!text.startsWith('/')) return { kind: 'message', text };
  const [cmd, id, ...rest] = text.split(/\s+/);
  const arg = rest.join(' ');
  switch (cmd) {
    case '/quit':
    case '/exit':
      return 'quit';
    case '/help':
      return 'help';
    case '/reply':
      if (id === undefined || arg === '') throw new CliFailure('CHAT_USAGE', 'usage: /reply ID TEXT');
      return { kind: 'message', text: arg, replyTo: resolveId(id) };
    case '/edit':
      if (id === undefined || arg === '') throw new CliFailure('CHAT_USAGE', 'usage: /edit ID TEXT');
      return { kind: 'edit', edits: resolveId(id), text: arg };
    case '/delete':
      if (id === undefined) throw new CliFailure('CHAT_USAGE', 'usage: /delete ID');
      return { kind: 'delete', deletes: resolveId(id) };
    case '/react':
      if (id === undefined || arg === '') throw new CliFailure('CHAT_USAGE', 'usage: /react ID EMOJI');
      return { kind: 'reaction', reactsTo: resolveId(id), emoji: arg };
    default:
      throw new CliFailure(
        'CHAT_USAGE',
        `unknown command ${cmd}; /help lists them (start a message with a space to send a '/')`,
      );
  }
}

/**
 * The line printed when a typed line fails (the chat goes on): the error in words, or with
 * --json an `{"error": {"code", "message"}}` line like every other line of the output.
 */
export function chatFailureLine(e: unknown, json: boolean): string {
  const f = explainFailure(e, 'chat');
  return json ? JSON.stringify({ error: { code: f.code, message: f.message } }) : `custos chat: ${f.message}`;
}

/**
 * `Chat with bob (USERID@ORGID)`, or `Chat with USERID@ORGID` for a user the address book has
 * no name for (the label is then the address: once is enough).
 */
export function chatHeading(target: Target, book: AddressBook): string {
  const label = targetLabel(target, book);
  const id = target.kind === 'user' ? formatAddress(target.peer) : target.group.id;
  return label === id ? `Chat with ${label}` : `Chat with ${label} (${id})`;
}

/**
 * Where the `you> ` prompt (and the echo of what is typed) goes: nowhere when stdin is not a
 * terminal (piped input: nobody reads a prompt, and it would spoil the output), stderr with
 * --json (stdout carries only JSON lines), else stdout.
 */
export function chatPromptStream(
  json: boolean,
  stdinIsTerminal: boolean,
  io: Pick<CliIo, 'stdout' | 'stderr'>,
): NodeJS.WritableStream | undefined {
  if (!stdinIsTerminal) return undefined;
  return json ? io.stderr : io.stdout;
}

async function chat(ctx: CommandContext): Promise<void> {
  const [who] = ctx.positionals;
  if (who === undefined) throw new UsageError('USER or GROUP is missing');
  let print: (line: string) => void = (l) => void ctx.io.stdout.write(`${terminalSafe(l)}\n`);
  let onEvent: (e: MessageEvent) => void = () => undefined;
  let onNotice: (e: MessageEvent) => void = () => undefined;
  const c: CustosClient = await openProfile(ctx, {
    onEvent: (e) => onEvent(e),
    onArchiveNotice: (e) => onNotice(e),
  });
  try {
    const book = new AddressBook(c.settings);
    const target = resolveTarget(c, book, who);
    const groupName = (id: string): string | undefined => c.group(id)?.name;
    // Orgs already named as archiving this conversation (header or an earlier notice); an org
    // only the server named is announced again when its device's own notice arrives.
    const announced = new Set<string>(
      targetArchivedBy(c, target)
        .filter((o) => o.serverClaim !== true)
        .map((o) => o.org),
    );
    // A notice from an org not named yet (the first message or receipt from an archiving org).
    const showNotice = (e: MessageEvent): void => {
      const n = e.content.notice;
      if (ctx.json || n === undefined || !inTarget(e, target) || announced.has(n.org)) return;
      announced.add(n.org);
      print(`Archive notice: this conversation is archived by ${peerText(n.name)}.`);
    };
    const showEvent = (e: MessageEvent): void => {
      if (e.content.kind === 'receipt') return;
      if (ctx.json) return print(JSON.stringify(eventJson(e, book)));
      if (inTarget(e, target)) {
        print(
          describeEvent(e, book, {
            groupNameOf: groupName,
            senderOf: (id) => targetMessages(c, target).find((m) => m.id === id)?.from,
            self: c.me,
          }),
        );
        showNotice(e);
        return;
      }
      // 1:1: the other user (the sender, or whom a sync copy of an own message went to).
      const where = e.group === undefined ? book.label(e.peer) : (groupName(e.group) ?? e.group);
      print(
        e.direction === 'sent'
          ? `(you sent a ${e.content.kind} to ${where}${e.syncCopy === true ? ' from another device' : ''}: 'custos chat ${where}' to see it)`
          : `(new ${e.content.kind} from ${book.label(e.from)}: 'custos chat ${where}' to answer)`,
      );
    };
    const showWarnings = (): void => {
      for (const w of takeNewWarnings(c))
        if (ctx.json) print(JSON.stringify({ warning: warningJson(w, book) }));
        else describeWarning(w, book).forEach(print);
    };
    if (!ctx.json) {
      print(`${chatHeading(target, book)}. ${archivedByLine(c, target)}`);
      for (const m of targetMessages(c, target).slice(-CHAT_HISTORY_LINES))
        print(describeStored(m, book, c.me));
      print(CHAT_HELP);
    }
    const input = process.stdin;
    const terminal = input.isTTY === true;
    const promptOut = chatPromptStream(ctx.json, terminal, ctx.io);
    const rl = createInterface({
      input,
      ...(promptOut === undefined ? {} : { output: promptOut }),
      terminal,
      prompt: 'you> ',
    });
    if (promptOut !== undefined) {
      // Print above the prompt, then redraw it with what was typed so far.
      print = (line) => {
        clearLine(promptOut, 0);
        cursorTo(promptOut, 0);
        ctx.io.stdout.write(`${terminalSafe(line)}\n`);
        rl.prompt(true);
      };
    }
    // Listen before connecting: lines typed (or piped, then stdin closed) while the socket
    // connects must neither be lost nor leave the chat waiting for a close it already missed.
    let work: Promise<void> = Promise.resolve();
    let open = true;
    const closed = new Promise<void>((resolve) =>
      rl.once('close', () => {
        open = false;
        resolve();
      }),
    );
    let connected = false;
    const ready = (async (): Promise<void> => {
      await c.connect();
      connected = true;
      showWarnings();
      if (open) rl.prompt();
    })();
    // Lines wait for the connection; a failed one ends the chat below with its error.
    work = ready.catch(() => undefined);
    rl.on('line', (line) => {
      work = work.then(async () => {
        if (!connected) return;
        try {
          const parsed = parseChatLine(line, (id) => resolveMessageId(targetMessages(c, target), id));
          if (parsed === 'quit') return void rl.close();
          if (parsed === 'help') print(CHAT_HELP);
          else if (parsed !== undefined) {
            showEvent(await sendTo(c, target, parsed));
            await c.uploadArchive().catch(() => undefined);
          }
        } catch (e) {
          print(chatFailureLine(blockedInUserTerms(e, book, groupName), ctx.json));
        }
        if (open && connected) rl.prompt();
      });
    });
    onEvent = (e) => {
      showEvent(e);
      showWarnings();
    };
    // Receipts are not shown, but the delivery receipt for a first message may bring the notice.
    onNotice = (e) => {
      if (e.content.kind === 'receipt') showNotice(e);
    };
    try {
      await Promise.race([closed, ready.then(() => closed)]);
    } catch (e) {
      rl.close();
      throw e;
    }
    await work;
    if (!ctx.json) ctx.io.stdout.write('\n');
    // Nothing arrives after the socket closes, so the last flush covers every record captured.
    await c.disconnect();
    await c
      .flushArchive()
      .catch((e: unknown) => ctx.note(`archive upload: ${explainFailure(e, 'chat').message}`));
  } finally {
    onEvent = () => undefined;
    onNotice = () => undefined;
    print = () => undefined;
    await c.close();
  }
}

/** Runs `custos chat`. */
export function runChat(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'chat', usage: USAGE, flags: PROFILE_FLAGS, maxPositionals: 1 }, args, io, chat);
}
