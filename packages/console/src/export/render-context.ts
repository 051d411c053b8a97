/** What every renderer needs besides the events: names, custody facts, fixed strings. */
import { displayOf, type ExportConversation, type ExportEvent } from './event-model.js';

/** Shared rendering context of one export run. */
export interface RenderContext {
  readonly custodian: string;
  readonly names: ReadonlyMap<string, string> | undefined;
  readonly application: string;
  readonly exportId: string;
  readonly exportedAt: number;
  /** SHA-256 (hex) of custody-manifest.json. */
  readonly manifestSha256: string;
  /** `origin size root` of the checkpoint a record (hex hash) is proven against. */
  readonly checkpointOf: (recordHash: string) => string;
}

/** `Name <address>` or just the address when no name is known. */
export function who(ctx: RenderContext, address: string | undefined): string {
  if (address === undefined) return '(system)';
  const name = displayOf(ctx.names, address);
  return name === address ? address : `${name} <${address}>`;
}

/** Short display of a conversation: its group name, or its participants' names. */
export function conversationTitle(ctx: RenderContext, c: ExportConversation): string {
  if (c.name !== undefined) return c.name;
  return c.participants.map((p) => displayOf(ctx.names, p)).join(', ');
}

/** The checkpoints (summaries) behind a set of events, sorted and unique. */
export function checkpointsOf(ctx: RenderContext, events: readonly ExportEvent[]): string[] {
  const s = new Set<string>();
  for (const e of events) for (const h of e.records) s.add(ctx.checkpointOf(h));
  return [...s].sort();
}

/** HH:MM:SSZ of a time in ms (UTC). */
export const clock = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)}Z`;
