/** @custos/client — the device SDK: encrypted local store, transport, enrolment, messaging, archive capture. */
export { CLIENT_ERROR_CODES, ClientError, isClientError, isServerRefusal } from './errors.js';
export type { ClientErrorCode, ServerRefusal } from './errors.js';
export { LocalStore, STORE_TABLES, STORE_SCHEMA_VERSION, profilePaths } from './store/local-store.js';
export type { StoreTable, StoreRow } from './store/local-store.js';
export { STORAGE_KEY_FILE, storageKeyKind } from './store/storage-key.js';
export type { StorageKeyProtection, StorageKeyOptions } from './store/storage-key.js';
export { signalStores, loadLocalIdentity, saveLocalIdentity } from './store/signal-stores.js';
export type { SignalStores, IdentityChangeEvent } from './store/signal-stores.js';
