/**
 * @custos/server — the Custos server: configuration, stores (SQLite, PostgreSQL), the HTTP
 * API, first start. Later modules (prekeys, relay, blobs, archive ingest, the log) build on
 * the stores and route definitions exported here.
 */
export const PACKAGE_NAME = '@custos/server';

export { loadConfig, isLoopbackHost } from './config/load-config.js';
export type { ServerConfig, StoreConfig, LogLevel, ConfigSources } from './config/load-config.js';
export { ConfigError } from './config/config-error.js';
export { SETTINGS } from './config/settings.js';
export type { SettingInfo } from './config/settings.js';
export * as defaults from './config/defaults.js';

export { startServer } from './server.js';
export { firstStartText, writeBootstrapFile } from './first-start.js';
export { issueBootstrapToken, issueBootstrapTokenIn, issuedTokenText } from './operator-bootstrap.js';
export type { IssuedBootstrapToken } from './operator-bootstrap.js';
export type { RunningServer, ServerIo } from './server.js';

export { ServerError, isServerError, SERVER_ERRORS, SERVER_ERROR_CODES } from './errors.js';
export type { ServerErrorCode } from './errors.js';

export type { OrgId, UserId, DeviceId, ChallengeId } from './ids.js';
export { authChallengeMessage, AUTH_SIGNATURE_DOMAIN } from './auth/challenge-message.js';
export type { AuthChallengeFields } from './auth/challenge-message.js';
export { parseEnrolmentCode, keyFingerprint } from './crypto/secrets.js';
export { LogSigningKey, loadOrCreateLogSigningKey } from './crypto/log-signing-key.js';

export { openStore, storesOver } from './store/open-store.js';
export { probeStore, STORE_MISSING } from './store/store-probe.js';
export type { ProbedLog, StoreProbe } from './store/store-probe.js';
export type * from './store/stores.js';
export type * from './store/records.js';
export { sql } from './store/sql.js';
export type { SqlDatabase, SqlExecutor, SqlQuery, SqlDialect } from './store/sql.js';
export type { AuditSink } from './audit/audit-sink.js';
export { pendingTableAuditSink } from './audit/audit-sink.js';

export { buildApp } from './http/app.js';
export type { AnyRoute, AppDeps, AuthContext, RouteSpec } from './http/route-def.js';
export { defineRoute } from './http/route-def.js';
export { ALL_ROUTES } from './http/routes/index.js';
export { renderApiDoc } from './http/api-doc.js';
export { createLogger } from './log/logger.js';
export type { Logger } from './log/logger.js';

export { sequenceEntries } from './log-service/sequencing.js';
export { LogIntegrator } from './log-service/integration.js';
export type { IntegrationOutcome, IntegratorOptions } from './log-service/integration.js';
export { SearchIndexer } from './search/search-indexer.js';
export { sequencingAuditSink } from './log-service/audit-sequencing.js';
export { logOriginFor, logVerifierKey } from './log-service/checkpoint-signing.js';
export type { LogKey } from './log-service/checkpoint-signing.js';
/** Test and bench support (archive ingest): scripted orgs and devices over an in-process app. */
export * as archiveTesting from './archive/archive-test-support.js';
/** Test and bench support (search): synthetic records through the real store, the indexer and the query. */
export * as searchTesting from './search/search-testing.js';
export { makePlan } from './disposition/plan-making.js';
export { executePlan } from './disposition/execution.js';
export { createTestApp } from './testing/test-app.js';
export type { TestApp } from './testing/test-app.js';
