/**
 * Branded identifiers of the server. All are random, generated here, and rendered as
 * unpadded base64url, so they are opaque: they reveal neither order nor count.
 */
import { randomBytes } from 'node:crypto';
import { ID_BYTES } from './config/defaults.js';

declare const brand: unique symbol;
/** A string tagged with what it identifies. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** An organisation. */
export type OrgId = Brand<string, 'OrgId'>;
/** A user within one organisation. */
export type UserId = Brand<string, 'UserId'>;
/** A device within one organisation. */
export type DeviceId = Brand<string, 'DeviceId'>;
/** An outstanding auth challenge. */
export type ChallengeId = Brand<string, 'ChallengeId'>;

/** Length of an id in characters (16 random bytes, unpadded base64url). */
export const ID_LENGTH = Math.ceil((ID_BYTES * 4) / 3);
/** Regular expression source that every id matches. */
export const ID_PATTERN = `^[A-Za-z0-9_-]{${ID_LENGTH}}$`;

const idRegex = new RegExp(ID_PATTERN);

/**
 * `bytes` random bytes as unpadded base64url that does not start with '-': ids are typed on
 * command lines, where a leading dash reads as an option (1 draw in 64 is redrawn).
 */
export function randomIdString(bytes: number = ID_BYTES): string {
  for (;;) {
    const id = randomBytes(bytes).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A fresh random id of the given kind (never starting with '-'). */
export function newId<T extends OrgId | UserId | DeviceId | ChallengeId>(): T {
  return randomIdString() as T;
}

/** True when `s` has the shape of an id (it may still name nothing). */
export function isIdShaped(s: string): boolean {
  return idRegex.test(s);
}
