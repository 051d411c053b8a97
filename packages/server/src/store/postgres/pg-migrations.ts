/** PostgreSQL schema, numbered. Append new migrations; never edit an applied one. */
import type { Migration } from '../migrate.js';

/** Every PostgreSQL migration in order. Times are ms since the epoch; secrets appear only as SHA-256. */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'directory: orgs, officers, users, devices, prekeys',
    up: `
CREATE TABLE orgs (
  org_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  signing_public_key BYTEA NOT NULL,
  signing_key_fingerprint TEXT NOT NULL,
  root_archive_public_key BYTEA NOT NULL,
  key_manager_delegation BYTEA NOT NULL,
  key_manager_not_before BIGINT NOT NULL,
  key_manager_not_after BIGINT NOT NULL,
  officer_quorum BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE org_officers (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  officer_index BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  PRIMARY KEY (org_id, officer_index)
);
CREATE TABLE users (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'officer', 'auditor')),
  retention_class TEXT NOT NULL CHECK (retention_class IN ('transitory', 'standard', 'permanent')),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE TABLE devices (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_number BIGINT NOT NULL,
  identity_key BYTEA NOT NULL,
  registration_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  PRIMARY KEY (org_id, device_id),
  UNIQUE (org_id, user_id, device_number),
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
);
CREATE TABLE signed_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  PRIMARY KEY (org_id, device_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
CREATE TABLE one_time_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  PRIMARY KEY (org_id, device_id, key_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
CREATE TABLE kyber_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  last_resort BIGINT NOT NULL CHECK (last_resort IN (0, 1)),
  PRIMARY KEY (org_id, device_id, key_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
`,
  },
  {
    version: 2,
    name: 'auth: bootstrap, enrolment codes, challenges, tokens',
    up: `
CREATE TABLE bootstrap (
  id SMALLINT PRIMARY KEY CHECK (id = 1),
  token_hash BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  consumed_at BIGINT,
  org_id TEXT
);
CREATE TABLE enrolment_codes (
  org_id TEXT NOT NULL,
  code_hash BYTEA NOT NULL,
  user_id TEXT NOT NULL,
  created_by TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (org_id, code_hash),
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
);
CREATE TABLE auth_challenges (
  org_id TEXT NOT NULL,
  challenge_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  challenge BYTEA NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, challenge_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);
CREATE TABLE auth_tokens (
  org_id TEXT NOT NULL,
  token_hash BYTEA NOT NULL,
  device_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, token_hash),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
CREATE INDEX auth_tokens_device ON auth_tokens (org_id, device_id);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);
`,
  },
  {
    version: 3,
    name: 'audit_pending: admin acts waiting for the log sequencer',
    up: `
CREATE TABLE audit_pending (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  kind TEXT NOT NULL,
  actor_device_id TEXT,
  subject TEXT NOT NULL,
  detail TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX audit_pending_org ON audit_pending (org_id, seq);
`,
  },
  {
    version: 4,
    name: 'messaging: relay queue, blobs, blob usage and blob contents',
    up: `
CREATE TABLE relay_queue (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  envelope_id TEXT NOT NULL,
  sender_org_id TEXT NOT NULL,
  sender_user_id TEXT NOT NULL,
  sender_device_id TEXT NOT NULL,
  sender_device_number BIGINT NOT NULL,
  envelope_type BIGINT NOT NULL,
  content BYTEA NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
CREATE UNIQUE INDEX relay_queue_envelope ON relay_queue (org_id, device_id, envelope_id);
CREATE INDEX relay_queue_device ON relay_queue (org_id, device_id, seq, size);
CREATE INDEX relay_queue_expiry ON relay_queue (expires_at);
CREATE TABLE blobs (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  blob_id TEXT NOT NULL,
  size BIGINT NOT NULL,
  uploaded_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, blob_id)
);
CREATE INDEX blobs_id ON blobs (blob_id);
CREATE TABLE blob_usage (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  count BIGINT NOT NULL,
  bytes BIGINT NOT NULL
);
CREATE TABLE blob_contents (
  blob_id TEXT PRIMARY KEY,
  content BYTEA NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'log, archive and keys: org logs, tiles, checkpoints, archive records, bucket keys',
    up: `
CREATE TABLE log_sequence (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  next_index BIGINT NOT NULL
);
CREATE TABLE log_entries (
  org_id TEXT NOT NULL,
  idx BIGINT NOT NULL,
  leaf_hash BYTEA NOT NULL,
  entry BYTEA NOT NULL,
  PRIMARY KEY (org_id, idx)
);
CREATE INDEX log_entries_leaf ON log_entries (org_id, leaf_hash);
CREATE TABLE log_tree (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  origin TEXT NOT NULL,
  verifier_key TEXT NOT NULL,
  tree_size BIGINT NOT NULL,
  frontier BYTEA NOT NULL,
  root BYTEA NOT NULL
);
CREATE TABLE log_tiles (
  org_id TEXT NOT NULL,
  level BIGINT NOT NULL,
  tile_index BIGINT NOT NULL,
  hashes BYTEA NOT NULL,
  PRIMARY KEY (org_id, level, tile_index)
);
CREATE TABLE log_checkpoints (
  org_id TEXT NOT NULL,
  tree_size BIGINT NOT NULL,
  root BYTEA NOT NULL,
  note TEXT NOT NULL,
  signed_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, tree_size)
);
CREATE TABLE archive_records (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  record_hash BYTEA NOT NULL,
  bucket_id TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  record BYTEA NOT NULL,
  PRIMARY KEY (org_id, device_id, seq)
);
CREATE UNIQUE INDEX archive_records_hash ON archive_records (org_id, record_hash);
CREATE TABLE archive_session_keys (
  org_id TEXT NOT NULL,
  key_id BYTEA NOT NULL,
  device_id TEXT NOT NULL,
  wrapped BYTEA NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, key_id)
);
CREATE TABLE buckets (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  bucket_id TEXT NOT NULL,
  retention_class TEXT NOT NULL,
  period TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  document BYTEA NOT NULL,
  registered_by TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  log_index BIGINT NOT NULL,
  PRIMARY KEY (org_id, bucket_id)
);
CREATE TABLE bucket_key_blobs (
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('officer-wrap', 'index-key')),
  bucket_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  blob BYTEA NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  log_index BIGINT NOT NULL,
  PRIMARY KEY (org_id, kind, bucket_id, recipient),
  FOREIGN KEY (org_id, bucket_id) REFERENCES buckets(org_id, bucket_id)
);
CREATE INDEX bucket_key_blobs_recipient ON bucket_key_blobs (org_id, kind, recipient);
`,
  },
  {
    version: 6,
    name: 'bootstrap tokens: one row per token (operator-issued ones expire); link-code rate index',
    up: `
CREATE TABLE bootstrap_tokens (
  token_hash BYTEA PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('first-start', 'operator')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  consumed_at BIGINT,
  org_id TEXT,
  request_hash BYTEA
);
INSERT INTO bootstrap_tokens (token_hash, source, created_at, consumed_at, org_id)
  SELECT token_hash, 'first-start', created_at, consumed_at, org_id FROM bootstrap;
DROP TABLE bootstrap;
CREATE INDEX enrolment_codes_creator ON enrolment_codes (org_id, created_by, created_at);
`,
  },
  {
    version: 7,
    name: 'archive records: drop the record-hash index (the chain key already makes rows unique)',
    // Invariant: a record's hash covers its header's org, device and sequence number, so two
    // rows with one hash would share (org_id, device_id, seq), which the primary key forbids.
    // The random-keyed index cost about one page write per ingested record.
    up: `
DROP INDEX archive_records_hash;
`,
  },
  {
    version: 8,
    name: 'search: posting blocks per (token, indexer pass), indexed-record map, indexer high-water marks, batch signatures',
    // Written by the search indexer after ingest commits (never inside ingest): one posting row
    // per (token, pass), ids delta/varint-encoded (docs/search.md). archive_batches is written
    // by ingest once per batch (not per record) so officers can check device signatures.
    up: `
CREATE TABLE search_state (
  org_id TEXT PRIMARY KEY,
  next_index BIGINT NOT NULL
);
CREATE TABLE search_postings (
  org_id TEXT NOT NULL,
  token BYTEA NOT NULL,
  block BIGINT NOT NULL,
  n BIGINT NOT NULL,
  ids BYTEA NOT NULL,
  PRIMARY KEY (org_id, token, block)
);
CREATE TABLE search_records (
  org_id TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  device_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  bucket_id TEXT NOT NULL,
  PRIMARY KEY (org_id, log_index)
);
CREATE TABLE archive_batches (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  first_seq BIGINT NOT NULL,
  count BIGINT NOT NULL,
  signature BYTEA NOT NULL,
  PRIMARY KEY (org_id, device_id, first_seq)
);
`,
  },
  {
    version: 9,
    name: 'log entries: drop the leaf-hash index and column (entries are looked up by index only)',
    // Nothing looks an entry up by leaf hash any more (docs/log.md §10): clients get their
    // index from ingest, exports carry indexes. The random-keyed index cost about one page
    // write per sequenced entry. The column went with it: the integrator hashes entries itself.
    up: `
DROP INDEX log_entries_leaf;
ALTER TABLE log_entries DROP COLUMN leaf_hash;
`,
  },
  {
    version: 10,
    name: 'search: the tail block a small indexer pass extends (fewer posting rows per token)',
    // NULL: the next pass starts a new block. See docs/search.md §2.
    up: `
ALTER TABLE search_state ADD COLUMN tail_block BIGINT;
`,
  },
  {
    version: 11,
    name: 'search: a covering index for the block list of a token (no row reads to plan a query)',
    // Planning reads (block, n) of every query token; without this each block costs a table
    // row read (a random page) — most of a query's time on a million records.
    up: `
CREATE INDEX search_postings_refs ON search_postings (org_id, token, block) INCLUDE (n);
`,
  },
  {
    version: 12,
    name: 'legal holds: one row per hold, blind tokens per (hold, bucket) for query and conversation holds',
    // The server never sees a hold's query or conversation id, only the console's blind tokens
    // (docs/officers.md "Legal holds"). A released hold keeps its row: holds are never deleted.
    up: `
CREATE TABLE holds (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  hold_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('custodian', 'conversation', 'query', 'dates')),
  matter TEXT NOT NULL,
  custodian TEXT,
  from_ms BIGINT,
  to_ms BIGINT,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  released_by TEXT,
  released_at BIGINT,
  release_reason TEXT,
  PRIMARY KEY (org_id, hold_id)
);
CREATE TABLE hold_tokens (
  org_id TEXT NOT NULL,
  hold_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  tokens BYTEA NOT NULL,
  PRIMARY KEY (org_id, hold_id, bucket_id),
  FOREIGN KEY (org_id, hold_id) REFERENCES holds(org_id, hold_id)
);
CREATE INDEX hold_tokens_bucket ON hold_tokens (org_id, bucket_id);
`,
  },
  {
    version: 13,
    name: 'review: lexicon rules as blind tokens, the review queue, sampling settings, the index of audit acts',
    // Written by officers (rules, decisions) and by the search indexer's hook (queue, acts);
    // see docs/officers.md "Daily review" and "Audit". No term or note in the clear.
    up: `
CREATE TABLE review_rules (
  org_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  name TEXT NOT NULL,
  terms BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  removed_at BIGINT,
  PRIMARY KEY (org_id, rule_id)
);
CREATE TABLE review_rule_terms (
  org_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  term BIGINT NOT NULL,
  tokens BYTEA NOT NULL,
  PRIMARY KEY (org_id, bucket_id, rule_id, term)
);
CREATE TABLE review_items (
  org_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  device_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  bucket_id TEXT NOT NULL,
  sampled BIGINT NOT NULL,
  rule_ids TEXT NOT NULL,
  queued_at BIGINT NOT NULL,
  decision TEXT CHECK (decision IN ('cleared', 'escalated', 'violation')),
  decided_by TEXT,
  decided_at BIGINT,
  note BYTEA,
  PRIMARY KEY (org_id, item_id)
);
CREATE UNIQUE INDEX review_items_record ON review_items (org_id, log_index);
CREATE INDEX review_items_open ON review_items (org_id, log_index) WHERE decision IS NULL;
CREATE TABLE review_settings (
  org_id TEXT PRIMARY KEY,
  sample_ppm BIGINT,
  sample_secret BYTEA NOT NULL
);
CREATE TABLE audit_acts (
  org_id TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (org_id, log_index)
);
CREATE INDEX audit_pending_at ON audit_pending (org_id, at);
`,
  },
  {
    version: 14,
    name: 'completeness: the org policy (silent devices, receipt grace) and an index of alert acts',
    // docs/officers.md "Completeness and alerts". No row: the documented defaults apply.
    up: `
CREATE TABLE completeness_policy (
  org_id TEXT PRIMARY KEY,
  silent_after_ms BIGINT NOT NULL,
  receipt_grace_ms BIGINT NOT NULL,
  set_by TEXT NOT NULL,
  set_at BIGINT NOT NULL
);
CREATE INDEX audit_pending_alerts ON audit_pending (org_id, at) WHERE kind LIKE 'alert.%';
`,
  },
  {
    version: 15,
    name: 'disposition: plans, officer approvals, per-bucket progress, disposed buckets; bucket and block indexes',
    // docs/officers.md "Retention and disposition". archive_records_bucket lets a disposition
    // find a bucket's records without scanning the archive (appended at the right edge per
    // bucket at ingest: log indexes grow); search_postings_block finds the posting rows of a
    // leaf span (appended at the right edge too: a block is an indexer pass's first index).
    up: `
CREATE INDEX archive_records_bucket ON archive_records (org_id, bucket_id, log_index);
CREATE INDEX search_postings_block ON search_postings (org_id, block);
CREATE TABLE disposition_plans (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  plan_id TEXT NOT NULL,
  plan BYTEA NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('proposed', 'executing', 'executed')),
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  certificate BYTEA,
  certificate_log_index BIGINT,
  executed_by TEXT,
  executed_at BIGINT,
  PRIMARY KEY (org_id, plan_id)
);
CREATE TABLE disposition_held (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  leaves BYTEA NOT NULL,
  PRIMARY KEY (org_id, plan_id, bucket_id)
);
CREATE TABLE disposition_approvals (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  officer_index BIGINT NOT NULL,
  signature BYTEA NOT NULL,
  device_id TEXT NOT NULL,
  approved_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, plan_id, officer_index)
);
CREATE TABLE disposition_progress (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  step TEXT NOT NULL CHECK (step IN ('postings', 'records', 'keys', 'done')),
  cursor BIGINT NOT NULL,
  disposed BIGINT NOT NULL,
  held BIGINT NOT NULL,
  keys_destroyed BIGINT NOT NULL CHECK (keys_destroyed IN (0, 1)),
  PRIMARY KEY (org_id, plan_id, bucket_id)
);
CREATE TABLE disposed_buckets (
  org_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  disposed_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, bucket_id)
);
`,
  },
  {
    version: 16,
    name: 'relay queue: envelope ids unique on their own (time-ordered ids keep the index append-mostly)',
    // Envelope ids start with their creation time (relay-service.ts), so this index gains
    // entries at its right edge and acknowledgements delete near it: a commit dirties a few
    // of its pages instead of one per envelope, as (org, device, random id) did. An ack still
    // filters on org and device, so a device deletes only its own envelopes.
    up: `
DROP INDEX relay_queue_envelope;
CREATE UNIQUE INDEX relay_queue_envelope ON relay_queue (envelope_id);
`,
  },
  {
    version: 17,
    name: "root acts: key-manager rotations (the chain and the new key's wraps) and officer-list changes",
    // One row per rotation: the delegation it superseded and the one it installed, so
    // bucket documents signed under an earlier key keep verifying (docs/keys.md §5).
    up: `
CREATE TABLE key_manager_rotations (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  seq BIGINT NOT NULL,
  superseded BYTEA NOT NULL,
  delegation BYTEA NOT NULL,
  rotated_by TEXT NOT NULL,
  rotated_at BIGINT NOT NULL,
  log_index BIGINT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
CREATE TABLE key_manager_wraps (
  org_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  recipient TEXT NOT NULL,
  blob BYTEA NOT NULL,
  PRIMARY KEY (org_id, seq, recipient)
);
CREATE TABLE officer_list_changes (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  seq BIGINT NOT NULL,
  document BYTEA NOT NULL,
  issued_at BIGINT NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
`,
  },
  {
    version: 18,
    name: 'archive batches keep the hashes they sign (held records still verify after disposition)',
    // A batch signature covers every record hash of the batch. Disposition deletes the rows of
    // unheld records, and a held record uploaded in the same batch could then no longer be
    // handed back with the hashes its signature needs. Each batch row now keeps its hashes
    // (count × 32 bytes, in sequence order); rows written before this migration have NULL
    // and are served from the records, as before.
    up: `
ALTER TABLE archive_batches ADD COLUMN hashes BYTEA;
`,
  },
  {
    version: 19,
    name: 'search: indexed records note the archive row address (one B-tree descent less per hit)',
    // The SQLite store keeps the archive row address here (a fetch shortcut); PostgreSQL rows
    // have no stable address (ctid moves on update and VACUUM FULL), so the column stays NULL
    // and hits are fetched by key as before. Added so both schemas and inserts stay alike.
    up: `
ALTER TABLE search_records ADD COLUMN archive_rowid BIGINT;
`,
  },
  {
    version: 20,
    name: 'lexicon rules and token holds keep their criterion sealed to the officers (extended to later buckets)',
    // Opaque to the server: the rule's terms or the hold's query, HPKE-sealed to each officer
    // and signed by the officer who made it (console standing-criteria.ts). Officers open it to
    // derive the tokens for buckets registered later. NULL for rules and holds made before.
    up: `
ALTER TABLE review_rules ADD COLUMN sealed BYTEA;
ALTER TABLE holds ADD COLUMN sealed BYTEA;
`,
  },
  {
    version: 21,
    name: "officer-list freshness: index of the org's latest officers.change act, and of acts by time",
    // GET /v1/orgs/:orgId/officers/latest-change (docs/officers.md §5): one probe for the
    // latest change, then its indexed log entry by time (the act document's time).
    up: `
CREATE INDEX audit_pending_officers ON audit_pending (org_id, seq) WHERE kind = 'officers.change';
CREATE INDEX audit_acts_at ON audit_acts (org_id, at);
`,
  },
  {
    version: 22,
    name: 'retention per role: a class for each role, followed by users without their own',
    // users.retention_class stays the effective class every reader uses (index-key recipients,
    // sessions, disposition); retention_source says whether it is the user's own ('user') or
    // their role's ('role'), which moves with role_retention and with the user's role. Users
    // created before this migration were given their class (or the old default) explicitly: 'user'.
    up: `
ALTER TABLE users ADD COLUMN retention_source TEXT NOT NULL DEFAULT 'user'
  CHECK (retention_source IN ('user', 'role'));
CREATE TABLE role_retention (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'officer', 'auditor')),
  retention_class TEXT NOT NULL CHECK (retention_class IN ('transitory', 'standard', 'permanent')),
  set_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, role)
);
`,
  },
  {
    version: 23,
    name: 'root acts: root archive key rotations (the signed statements, oldest first)',
    // One row per rotation: the org-signed statement naming the new root archive public key and
    // the key it replaced (docs/keys.md §6). orgs.root_archive_public_key holds the current key;
    // the bucket root wraps are replaced in bucket_key_blobs in the same transaction.
    up: `
CREATE TABLE root_key_rotations (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  seq BIGINT NOT NULL,
  statement BYTEA NOT NULL,
  superseded BYTEA NOT NULL,
  issued_at BIGINT NOT NULL,
  rotated_by TEXT NOT NULL,
  rotated_at BIGINT NOT NULL,
  log_index BIGINT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
`,
  },
  {
    version: 24,
    name: 'archive policy: required | none, with the org-signed statement devices verify',
    // archive_policy is what the server acts on (archive ingest, relay receipts); the statement
    // (core/org-docs/archive-policy.ts) is what devices verify against the pinned org key.
    // Orgs created before this migration archive and have no statement: devices read that as
    // `required`, so a missing statement can never switch capture off.
    up: `
ALTER TABLE orgs ADD COLUMN archive_policy TEXT NOT NULL DEFAULT 'required'
  CHECK (archive_policy IN ('required', 'none'));
ALTER TABLE orgs ADD COLUMN archive_policy_statement BYTEA;
`,
  },
  {
    version: 25,
    name: 'archive gaps: signed declarations of chain runs a device cannot send again',
    // docs/archive-format.md §6.1. One row per accepted declaration, keyed by its first sequence
    // number; the device's chain head is the later of its last record and its last declaration
    // (archive-stores.ts), and the declared run is never in archive_records.
    up: `
CREATE TABLE archive_gaps (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  first_seq BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  prev_hash BYTEA NOT NULL,
  resume_hash BYTEA NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('server-restored', 'device-lost')),
  declaration BYTEA NOT NULL,
  log_index BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, device_id, first_seq)
);
`,
  },
  {
    version: 26,
    name: 'archive gaps: the bucket-disposed reason',
    // core GAP_REASONS gained `bucket-disposed` (records sealed to a bucket whose keys a
    // disposition destroyed before they were archived; docs/archive-format.md §6.1).
    up: `
ALTER TABLE archive_gaps DROP CONSTRAINT archive_gaps_reason_check;
ALTER TABLE archive_gaps ADD CONSTRAINT archive_gaps_reason_check
  CHECK (reason IN ('server-restored', 'device-lost', 'bucket-disposed'));
`,
  },
  {
    version: 27,
    name: 'relay: idempotency keys of sends',
    // A keyed send (PUT /v1/messages with `idempotencyKey`) is remembered per sending device:
    // a repeat within the retention window answers `answer` again and stores nothing
    // (relay-service.ts). `request_hash` is SHA-256 over the recipient and every envelope,
    // so the same key with other envelopes is refused. Pruned by `created_at` (relay sweep).
    // The key leads the device in the primary key: a batch reads its keys of one org with
    // one IN list on (org_id, idem_key).
    up: `
CREATE TABLE relay_send_keys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash BYTEA NOT NULL,
  answer TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, idem_key, device_id)
);
CREATE INDEX relay_send_keys_created ON relay_send_keys (created_at);
`,
  },
  {
    version: 28,
    name: 'directory versions: a per-org counter every change of its devices bumps',
    // The relay caches devices' revocation states and users' device lists per org, and checks
    // in each batch's transaction, with one single-row read, that the org's version is the
    // one it cached at (relay/directory-cache.ts); API nodes sharing this database each keep
    // their own cache. A trigger bumps it in the transaction of every insert, update or delete
    // of a `devices` row, so no code path can forget to; the bump holds the org's row lock to
    // commit, so enrolments and revocations of one org commit one after another (relay
    // batches only read the row and never wait for it). An org without a row is at version 0.
    up: `
CREATE TABLE directory_versions (
  org_id TEXT PRIMARY KEY,
  version BIGINT NOT NULL
);
CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO directory_versions (org_id, version) VALUES (NEW.org_id, 1)
      ON CONFLICT (org_id) DO UPDATE SET version = directory_versions.version + 1;
  END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.org_id <> NEW.org_id) THEN
    INSERT INTO directory_versions (org_id, version) VALUES (OLD.org_id, 1)
      ON CONFLICT (org_id) DO UPDATE SET version = directory_versions.version + 1;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER devices_directory_version AFTER INSERT OR UPDATE OR DELETE ON devices
  FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
`,
  },
  {
    version: 29,
    name: 'directory versions: bumped at commit, to a value never seen before, by changes the relay caches',
    // Replaces migration 28's trigger and function (read its comment first). Three changes:
    // - A deferred constraint trigger: the bump runs at commit, still in the transaction that
    //   changed the devices, so the org's directory_versions row is locked only for the commit
    //   itself. Migration 28 locked it from the devices write to commit: an enrolment (which
    //   then stores some 200 prekeys) made every other enrolment or revocation of the org wait
    //   for its whole transaction, each waiter holding a pool connection meanwhile.
    // - Each bump sets a random value (52 bits, odd so never 0, the version of an org without
    //   a row; never the value it replaces) instead of adding 1. Only equality is compared,
    //   and a counter can come back to a number an API node cached with other contents after
    //   a restore, a point-in-time recovery or a failover that lost commits; a random value
    //   does not (operations.md still asks for every node to be restarted then).
    // - Only changes of what the relay caches (a device's org, id, user, revocation) bump: a
    //   column added later and written often must not bump the version nor take the lock.
    up: `
DROP TRIGGER devices_directory_version ON devices;
CREATE OR REPLACE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO directory_versions AS d (org_id, version)
      VALUES (NEW.org_id, floor(random() * 4503599627370496)::bigint | 1)
      ON CONFLICT (org_id) DO UPDATE SET version =
        CASE WHEN d.version = EXCLUDED.version THEN -EXCLUDED.version ELSE EXCLUDED.version END;
  END IF;
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.org_id <> NEW.org_id) THEN
    INSERT INTO directory_versions AS d (org_id, version)
      VALUES (OLD.org_id, floor(random() * 4503599627370496)::bigint | 1)
      ON CONFLICT (org_id) DO UPDATE SET version =
        CASE WHEN d.version = EXCLUDED.version THEN -EXCLUDED.version ELSE EXCLUDED.version END;
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER devices_directory_version
  AFTER INSERT OR UPDATE OF org_id, device_id, user_id, revoked_at OR DELETE ON devices
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bump_directory_version();
`,
  },
  {
    version: 30,
    name: "completeness: officers' acknowledgements of findings",
    // docs/officers.md "Completeness and alerts". One row per acknowledged finding: an officer's
    // signed statement (core finding-acknowledgement.ts) that the finding is explained. The
    // primary key is what makes a second acknowledgement of the same finding a refusal
    // (FINDING_ACKNOWLEDGED) even when two officers race; rows are never updated or deleted.
    up: `
CREATE TABLE completeness_acknowledgements (
  org_id TEXT NOT NULL,
  finding_id TEXT NOT NULL,
  statement BYTEA NOT NULL,
  signature BYTEA NOT NULL,
  device_id TEXT NOT NULL,
  acknowledged_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, finding_id)
);
`,
  },
  {
    version: 31,
    name: 'officer bindings: the officer key that stands behind an officer device (separation of duties)',
    // docs/officers.md §2: a device whose user has the role officer acts as an officer only
    // while its binding names an officer of the current list with the same public key
    // (a join on org_officers, so removing the officer unbinds at once). The statement is the
    // officer-signed binding, kept as evidence; rows are never updated or deleted.
    up: `
CREATE TABLE officer_bindings (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  officer_index BIGINT NOT NULL,
  officer_public_key BYTEA NOT NULL,
  statement BYTEA NOT NULL,
  bound_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, device_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
);
`,
  },
  {
    version: 32,
    name: 'per-revocation archive hand-in deadline',
    // docs/threat-model.md, "Revoked devices and their archive queue": whether a revoked device
    // may hand in its archive records, and until when, is decided when it is revoked and kept
    // with the revocation (null: no window), never recomputed from the current setting.
    // Devices revoked before this migration get null: they stay locked out (F5).
    up: `
ALTER TABLE devices ADD COLUMN hand_in_until BIGINT;
`,
  },
  {
    version: 33,
    name: 'finding acknowledgements: one per finding and accepted state',
    // docs/officers.md "Completeness and alerts": a revoked device's finding keeps its id while
    // more of its unarchived receipts become visible, so an officer acknowledges it again with the
    // state they accepted (core finding-acknowledgement.ts version 2, `saw`). The key is the
    // finding and that state: the same state twice is still a refusal, racing officers included.
    // Rows from before are version 1 statements, which have no state ('').
    up: `
ALTER TABLE completeness_acknowledgements ADD COLUMN finding_state TEXT NOT NULL DEFAULT '';
ALTER TABLE completeness_acknowledgements ALTER COLUMN finding_state DROP DEFAULT;
ALTER TABLE completeness_acknowledgements DROP CONSTRAINT completeness_acknowledgements_pkey;
ALTER TABLE completeness_acknowledgements ADD PRIMARY KEY (org_id, finding_id, finding_state);
`,
  },
  {
    version: 34,
    name: 'hold releases keep the officer-signed release statement',
    // docs/threat-model.md, "the server hides or reshapes a legal hold": a release is an
    // officer's signed statement (core hold-release.ts), kept so consoles can verify it against
    // the `hold.release` act. Holds released before this migration keep null: consoles report
    // them as released without an officer signature (docs/officers.md "Legal holds").
    up: `
ALTER TABLE holds ADD COLUMN release_statement BYTEA;
ALTER TABLE holds ADD COLUMN release_signature BYTEA;
`,
  },
  {
    version: 35,
    name: 'blob references of archive records and the blob sweep',
    // docs/operations.md "Blobs": a record header lists the blob ids of its attachments
    // (docs/archive-format.md §2, "att"); ingest keeps one row per (record, blob) with the
    // record's log index and bucket, so a disposition's range delete releases exactly the
    // references of the records it deletes. The sweep deletes a blob only when no row names
    // it. blob_sweep_state.unlisted_through is the latest time a record that may reference
    // blobs without listing them was ingested (asz > 0 and no "att": a client from before
    // the field): no blob uploaded before it is ever swept. It starts at the newest blob's
    // upload, so every blob stored before this migration is kept.
    up: `
CREATE TABLE archive_blob_refs (
  org_id TEXT NOT NULL,
  log_index BIGINT NOT NULL,
  blob_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  PRIMARY KEY (org_id, log_index, blob_id)
);
CREATE INDEX archive_blob_refs_blob ON archive_blob_refs (blob_id);
CREATE TABLE blob_sweep_state (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  unlisted_through BIGINT NOT NULL
);
INSERT INTO blob_sweep_state (id, unlisted_through) SELECT 1, COALESCE(MAX(created_at), 0) FROM blobs;
`,
  },
];
