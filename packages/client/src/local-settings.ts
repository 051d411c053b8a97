/**
 * Small per-profile settings an application keeps beside the SDK's own state (the `custos`
 * command's address book, which warnings it has shown). Stored in the encrypted `profile`
 * table under a `setting:` prefix, so they are as protected as messages: a display name a
 * user types MUST NOT reach the server or any plaintext file.
 */
import type { LocalStore } from './store/local-store.js';

const PREFIX = 'setting:';
/** Longest setting name accepted. */
const MAX_SETTING_NAME = 128;

/** JSON values kept in the encrypted store by name. */
export class LocalSettings {
  constructor(private readonly store: LocalStore) {}

  /** The stored value of `name`, or undefined. */
  get<T>(name: string): T | undefined {
    return this.store.getJson<T>('profile', key(name));
  }

  /** Stores `value` (any JSON) under `name`. */
  set(name: string, value: unknown): void {
    this.store.putJson('profile', key(name), value);
  }

  /** Removes `name`; false when it was absent. */
  delete(name: string): boolean {
    return this.store.delete('profile', key(name));
  }
}

function key(name: string): string {
  if (name.length === 0 || name.length > MAX_SETTING_NAME) throw new RangeError('bad setting name length');
  return PREFIX + name;
}
