/**
 * Groups (docs/client.md §5): a stable id (`g.` + 128 random bits), and state — name,
 * members, revision — carried only inside encrypted 'group-update' content fanned out
 * pairwise to every member (Sesame-style: the server sees envelopes to devices, never a
 * group, its name or its member list). State is kept in the encrypted `groups` table.
 *
 * Rules, checked by every receiver: only a current member may change a group (any member
 * may add, remove or rename; a member may leave); a change must carry a higher revision,
 * and two concurrent changes with the same revision are ordered by the SHA-256 of their
 * state, so every member converges on the same state once both arrive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { encodeDeterministicCbor } from '@custos/core';
import { ClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import {
  encodeGroupState,
  MAX_GROUP_MEMBERS,
  MAX_SHORT,
  type GroupState,
  type UserRef,
} from './content-parts.js';
import { userAddress, type PeerUser } from './peers.js';

/** A group as this device knows it. */
export interface GroupInfo {
  readonly id: string;
  readonly name: string;
  readonly members: readonly PeerUser[];
  readonly revision: number;
  /** False once this user left or was removed (the group stays listed, read-only). */
  readonly active: boolean;
}

/** What a group change did, as the archive records it (user addresses). */
export interface GroupChange {
  readonly next: GroupInfo;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly renamed: boolean;
}

/** A fresh group id: `g.` and 128 random bits in base64url. */
export function newGroupId(): string {
  return `g.${randomBytes(16).toString('base64url')}`;
}

/** The stored group, or undefined. */
export function getGroup(store: LocalStore, id: string): GroupInfo | undefined {
  return store.getJson<GroupInfo>('groups', id);
}

/** Every known group (including ones this user has left). */
export function listGroups(store: LocalStore): GroupInfo[] {
  return store.list('groups').map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as GroupInfo);
}

/** Stores a group's state. */
export function saveGroup(store: LocalStore, g: GroupInfo): void {
  store.putJson('groups', g.id, g);
}

/** The wire state of a group. */
export function groupState(g: Pick<GroupInfo, 'name' | 'members' | 'revision'>): GroupState {
  return { name: g.name, members: g.members.map(toRef), revision: g.revision };
}

const toRef = (u: PeerUser): UserRef => ({ org: u.orgId, user: u.userId });
const fromRef = (u: UserRef): PeerUser => ({ orgId: u.org, userId: u.user });
const isIn = (u: PeerUser, list: readonly PeerUser[]): boolean =>
  list.some((m) => userAddress(m) === userAddress(u));

/** True when `u` is a current member of `g`. */
export function isMember(g: GroupInfo, u: PeerUser): boolean {
  return isIn(u, g.members);
}

function stateHash(s: GroupState): string {
  return createHash('sha256')
    .update(encodeDeterministicCbor(encodeGroupState(s)))
    .digest('hex');
}

/** Members added and removed between two member lists, as sorted user addresses. */
export function memberDiff(
  before: readonly PeerUser[],
  after: readonly PeerUser[],
): { added: string[]; removed: string[] } {
  return {
    added: after
      .filter((u) => !isIn(u, before))
      .map(userAddress)
      .sort(),
    removed: before
      .filter((u) => !isIn(u, after))
      .map(userAddress)
      .sort(),
  };
}

/**
 * Judges a received group update from `actor`. Resolves to the change, or to the reason
 * it is refused (the caller records a warning and archives nothing).
 */
export function judgeGroupUpdate(
  current: GroupInfo | undefined,
  id: string,
  state: GroupState,
  actor: PeerUser,
  me: PeerUser,
): GroupChange | { refused: string } {
  const members = state.members.map(fromRef);
  const next: GroupInfo = {
    id,
    name: state.name,
    members,
    revision: state.revision,
    active: isIn(me, members),
  };
  if (current === undefined) {
    // A group new to this device: the creator (or adder) must be in it, and so must we.
    if (!isIn(actor, members)) return { refused: 'a group update from someone outside the group' };
    if (!next.active) return { refused: 'an update of an unknown group that does not include this user' };
    return { next, added: members.map(userAddress).sort(), removed: [], renamed: true };
  }
  if (!isMember(current, actor)) return { refused: 'a group update from someone who is not a member' };
  const leaving = !isIn(actor, members);
  // A member who leaves may remove only themselves.
  if (
    leaving &&
    (members.length !== current.members.length - 1 || !members.every((u) => isIn(u, current.members)))
  )
    return { refused: 'a member leaving the group changed more than their own membership' };
  const newer =
    state.revision > current.revision ||
    (state.revision === current.revision && stateHash(state) > stateHash(groupState(current)));
  if (!newer) return { refused: 'a stale group update (an older revision)' };
  return { next, ...memberDiff(current.members, members), renamed: state.name !== current.name };
}

/** Local operations on a group. */
export type GroupOperation =
  | { readonly op: 'create'; readonly name: string; readonly members: readonly PeerUser[] }
  | { readonly op: 'add' | 'remove'; readonly members: readonly PeerUser[] }
  | { readonly op: 'leave' }
  | { readonly op: 'rename'; readonly name: string };

function checkName(name: string): string {
  if (name.trim().length === 0 || Buffer.byteLength(name) > MAX_SHORT)
    throw new ClientError('GROUP_INVALID', `a group name must be 1–${MAX_SHORT} bytes`);
  return name;
}

/**
 * The state after `me` applies `o` to `current` (undefined for create); GROUP_INVALID or
 * NOT_A_MEMBER when the operation is not allowed. The caller sends it to old ∪ new members.
 */
export function planGroupChange(
  current: GroupInfo | undefined,
  o: GroupOperation,
  me: PeerUser,
): GroupChange {
  if (o.op === 'create') {
    const members = dedupe([me, ...o.members]);
    checkSize(members);
    const next: GroupInfo = { id: newGroupId(), name: checkName(o.name), members, revision: 1, active: true };
    return { next, added: members.map(userAddress).sort(), removed: [], renamed: true };
  }
  if (current === undefined) throw new ClientError('GROUP_UNKNOWN', 'no such group on this device');
  if (!current.active || !isMember(current, me))
    throw new ClientError('NOT_A_MEMBER', 'this user is not a member of the group');
  let members = current.members;
  let name = current.name;
  if (o.op === 'add') members = dedupe([...members, ...o.members]);
  if (o.op === 'remove') {
    if (isIn(me, o.members)) throw new ClientError('GROUP_INVALID', 'use leaveGroup to remove yourself');
    members = members.filter((u) => !isIn(u, o.members));
  }
  if (o.op === 'leave') members = members.filter((u) => userAddress(u) !== userAddress(me));
  if (o.op === 'rename') name = checkName(o.name);
  checkSize(members);
  const next: GroupInfo = {
    id: current.id,
    name,
    members,
    revision: current.revision + 1,
    active: o.op !== 'leave',
  };
  return { next, ...memberDiff(current.members, members), renamed: name !== current.name };
}

function dedupe(list: readonly PeerUser[]): PeerUser[] {
  const seen = new Map<string, PeerUser>();
  for (const u of list) seen.set(userAddress(u), { orgId: u.orgId, userId: u.userId });
  return [...seen.values()];
}

function checkSize(members: readonly PeerUser[]): void {
  if (members.length > MAX_GROUP_MEMBERS)
    throw new ClientError('GROUP_INVALID', `a group holds at most ${MAX_GROUP_MEMBERS} members`);
}
