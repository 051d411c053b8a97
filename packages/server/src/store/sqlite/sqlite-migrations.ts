/** SQLite schema, numbered. Append new migrations; never edit an applied one. */
import type { Migration } from '../migrate.js';

/** Every SQLite migration in order. Times are ms since the epoch; secrets appear only as SHA-256. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'directory: orgs, officers, users, devices, prekeys',
    up: `
CREATE TABLE orgs (
  org_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  signing_public_key BLOB NOT NULL,
  signing_key_fingerprint TEXT NOT NULL,
  root_archive_public_key BLOB NOT NULL,
  key_manager_delegation BLOB NOT NULL,
  key_manager_not_before INTEGER NOT NULL,
  key_manager_not_after INTEGER NOT NULL,
  officer_quorum INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE org_officers (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  officer_index INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (org_id, officer_index)
) STRICT;
CREATE TABLE users (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'officer', 'auditor')),
  retention_class TEXT NOT NULL CHECK (retention_class IN ('transitory', 'standard', 'permanent')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, user_id)
) STRICT;
CREATE TABLE devices (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_number INTEGER NOT NULL,
  identity_key BLOB NOT NULL,
  registration_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  PRIMARY KEY (org_id, device_id),
  UNIQUE (org_id, user_id, device_number),
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
) STRICT;
CREATE TABLE signed_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (org_id, device_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
CREATE TABLE one_time_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (org_id, device_id, key_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
CREATE TABLE kyber_prekeys (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)),
  PRIMARY KEY (org_id, device_id, key_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
`,
  },
  {
    version: 2,
    name: 'auth: bootstrap, enrolment codes, challenges, tokens',
    up: `
CREATE TABLE bootstrap (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  consumed_at INTEGER,
  org_id TEXT
) STRICT;
CREATE TABLE enrolment_codes (
  org_id TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  user_id TEXT NOT NULL,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (org_id, code_hash),
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
) STRICT;
CREATE TABLE auth_challenges (
  org_id TEXT NOT NULL,
  challenge_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  challenge BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, challenge_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);
CREATE TABLE auth_tokens (
  org_id TEXT NOT NULL,
  token_hash BLOB NOT NULL,
  device_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, token_hash),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
CREATE INDEX auth_tokens_device ON auth_tokens (org_id, device_id);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);
`,
  },
  {
    version: 3,
    name: 'audit_pending: admin acts waiting for the log sequencer',
    up: `
CREATE TABLE audit_pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  kind TEXT NOT NULL,
  actor_device_id TEXT,
  subject TEXT NOT NULL,
  detail TEXT,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_pending_org ON audit_pending (org_id, seq);
`,
  },
  {
    version: 4,
    name: 'messaging: relay queue, blobs and blob usage',
    up: `
CREATE TABLE relay_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  envelope_id TEXT NOT NULL,
  sender_org_id TEXT NOT NULL,
  sender_user_id TEXT NOT NULL,
  sender_device_id TEXT NOT NULL,
  sender_device_number INTEGER NOT NULL,
  envelope_type INTEGER NOT NULL,
  content BLOB NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
CREATE UNIQUE INDEX relay_queue_envelope ON relay_queue (org_id, device_id, envelope_id);
CREATE INDEX relay_queue_device ON relay_queue (org_id, device_id, seq, size);
CREATE INDEX relay_queue_expiry ON relay_queue (expires_at);
CREATE TABLE blobs (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  blob_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  uploaded_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, blob_id)
) STRICT;
CREATE INDEX blobs_id ON blobs (blob_id);
CREATE TABLE blob_usage (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  count INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 5,
    name: 'log, archive and keys: org logs, tiles, checkpoints, archive records, bucket keys',
    up: `
CREATE TABLE log_sequence (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  next_index INTEGER NOT NULL
) STRICT;
CREATE TABLE log_entries (
  org_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  leaf_hash BLOB NOT NULL,
  entry BLOB NOT NULL,
  PRIMARY KEY (org_id, idx)
) STRICT, WITHOUT ROWID;
CREATE INDEX log_entries_leaf ON log_entries (org_id, leaf_hash);
CREATE TABLE log_tree (
  org_id TEXT PRIMARY KEY REFERENCES orgs(org_id),
  origin TEXT NOT NULL,
  verifier_key TEXT NOT NULL,
  tree_size INTEGER NOT NULL,
  frontier BLOB NOT NULL,
  root BLOB NOT NULL
) STRICT;
CREATE TABLE log_tiles (
  org_id TEXT NOT NULL,
  level INTEGER NOT NULL,
  tile_index INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (org_id, level, tile_index)
) STRICT;
CREATE TABLE log_checkpoints (
  org_id TEXT NOT NULL,
  tree_size INTEGER NOT NULL,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  signed_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, tree_size)
) STRICT;
CREATE TABLE archive_records (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  record_hash BLOB NOT NULL,
  bucket_id TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  record BLOB NOT NULL,
  PRIMARY KEY (org_id, device_id, seq)
) STRICT;
CREATE UNIQUE INDEX archive_records_hash ON archive_records (org_id, record_hash);
CREATE TABLE archive_session_keys (
  org_id TEXT NOT NULL,
  key_id BLOB NOT NULL,
  device_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, key_id)
) STRICT;
CREATE TABLE buckets (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  bucket_id TEXT NOT NULL,
  retention_class TEXT NOT NULL,
  period TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  document BLOB NOT NULL,
  registered_by TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (org_id, bucket_id)
) STRICT;
CREATE TABLE bucket_key_blobs (
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('officer-wrap', 'index-key')),
  bucket_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  blob BLOB NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (org_id, kind, bucket_id, recipient),
  FOREIGN KEY (org_id, bucket_id) REFERENCES buckets(org_id, bucket_id)
) STRICT;
CREATE INDEX bucket_key_blobs_recipient ON bucket_key_blobs (org_id, kind, recipient);
`,
  },
  {
    version: 6,
    name: 'bootstrap tokens: one row per token (operator-issued ones expire); link-code rate index',
    up: `
CREATE TABLE bootstrap_tokens (
  token_hash BLOB PRIMARY KEY,
  source TEXT NOT NULL CHECK (source IN ('first-start', 'operator')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  consumed_at INTEGER,
  org_id TEXT,
  request_hash BLOB
) STRICT;
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
  next_index INTEGER NOT NULL
) STRICT;
CREATE TABLE search_postings (
  org_id TEXT NOT NULL,
  token BLOB NOT NULL,
  block INTEGER NOT NULL,
  n INTEGER NOT NULL,
  ids BLOB NOT NULL,
  PRIMARY KEY (org_id, token, block)
) STRICT;
CREATE TABLE search_records (
  org_id TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  bucket_id TEXT NOT NULL,
  PRIMARY KEY (org_id, log_index)
) STRICT, WITHOUT ROWID;
CREATE TABLE archive_batches (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  count INTEGER NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (org_id, device_id, first_seq)
) STRICT;
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
ALTER TABLE search_state ADD COLUMN tail_block INTEGER;
`,
  },
  {
    version: 11,
    name: 'search: a covering index for the block list of a token (no row reads to plan a query)',
    // Planning reads (block, n) of every query token; without this each block costs a table
    // row read (a random page) — most of a query's time on a million records.
    up: `
CREATE INDEX search_postings_refs ON search_postings (org_id, token, block, n);
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
  from_ms INTEGER,
  to_ms INTEGER,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  released_by TEXT,
  released_at INTEGER,
  release_reason TEXT,
  PRIMARY KEY (org_id, hold_id)
) STRICT;
CREATE TABLE hold_tokens (
  org_id TEXT NOT NULL,
  hold_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  tokens BLOB NOT NULL,
  PRIMARY KEY (org_id, hold_id, bucket_id),
  FOREIGN KEY (org_id, hold_id) REFERENCES holds(org_id, hold_id)
) STRICT;
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
  terms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  removed_at INTEGER,
  PRIMARY KEY (org_id, rule_id)
) STRICT;
CREATE TABLE review_rule_terms (
  org_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  term INTEGER NOT NULL,
  tokens BLOB NOT NULL,
  PRIMARY KEY (org_id, bucket_id, rule_id, term)
) STRICT;
CREATE TABLE review_items (
  org_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  bucket_id TEXT NOT NULL,
  sampled INTEGER NOT NULL,
  rule_ids TEXT NOT NULL,
  queued_at INTEGER NOT NULL,
  decision TEXT CHECK (decision IN ('cleared', 'escalated', 'violation')),
  decided_by TEXT,
  decided_at INTEGER,
  note BLOB,
  PRIMARY KEY (org_id, item_id)
) STRICT;
CREATE UNIQUE INDEX review_items_record ON review_items (org_id, log_index);
CREATE INDEX review_items_open ON review_items (org_id, log_index) WHERE decision IS NULL;
CREATE TABLE review_settings (
  org_id TEXT PRIMARY KEY,
  sample_ppm INTEGER,
  sample_secret BLOB NOT NULL
) STRICT;
CREATE TABLE audit_acts (
  org_id TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (org_id, log_index)
) STRICT, WITHOUT ROWID;
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
  silent_after_ms INTEGER NOT NULL,
  receipt_grace_ms INTEGER NOT NULL,
  set_by TEXT NOT NULL,
  set_at INTEGER NOT NULL
) STRICT;
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
  plan BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('proposed', 'executing', 'executed')),
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  certificate BLOB,
  certificate_log_index INTEGER,
  executed_by TEXT,
  executed_at INTEGER,
  PRIMARY KEY (org_id, plan_id)
) STRICT;
CREATE TABLE disposition_held (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  leaves BLOB NOT NULL,
  PRIMARY KEY (org_id, plan_id, bucket_id)
) STRICT;
CREATE TABLE disposition_approvals (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  officer_index INTEGER NOT NULL,
  signature BLOB NOT NULL,
  device_id TEXT NOT NULL,
  approved_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, plan_id, officer_index)
) STRICT;
CREATE TABLE disposition_progress (
  org_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  step TEXT NOT NULL CHECK (step IN ('postings', 'records', 'keys', 'done')),
  cursor INTEGER NOT NULL,
  disposed INTEGER NOT NULL,
  held INTEGER NOT NULL,
  keys_destroyed INTEGER NOT NULL CHECK (keys_destroyed IN (0, 1)),
  PRIMARY KEY (org_id, plan_id, bucket_id)
) STRICT;
CREATE TABLE disposed_buckets (
  org_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  plan_id TEXT NOT NULL,
  disposed_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, bucket_id)
) STRICT;
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
  seq INTEGER NOT NULL,
  superseded BLOB NOT NULL,
  delegation BLOB NOT NULL,
  rotated_by TEXT NOT NULL,
  rotated_at INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (org_id, seq)
) STRICT;
CREATE TABLE key_manager_wraps (
  org_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY (org_id, seq, recipient)
) STRICT;
CREATE TABLE officer_list_changes (
  org_id TEXT NOT NULL REFERENCES orgs(org_id),
  seq INTEGER NOT NULL,
  document BLOB NOT NULL,
  issued_at INTEGER NOT NULL,
  changed_by TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, seq)
) STRICT;
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
ALTER TABLE archive_batches ADD COLUMN hashes BLOB;
`,
  },
  {
    version: 19,
    name: 'search: indexed records note the archive row address (one B-tree descent less per hit)',
    // Fetching a page of search hits went search_records → the archive key index → the
    // archive row: three B-tree descents per hit, most of a query's time on a million
    // records. The indexer now notes the row address, so a hit costs two. It is a hint, checked
    // on every read (VACUUM may renumber rows; see search-stores.ts recordsAt). Rows indexed
    // earlier are filled in here (one pass over search_records).
    up: `
ALTER TABLE search_records ADD COLUMN archive_rowid INTEGER;
UPDATE search_records SET archive_rowid = (SELECT a.rowid FROM archive_records a
  WHERE a.org_id = search_records.org_id AND a.device_id = search_records.device_id AND a.seq = search_records.seq);
`,
  },
  {
    version: 20,
    name: 'lexicon rules and token holds keep their criterion sealed to the officers (extended to later buckets)',
    // Opaque to the server: the rule's terms or the hold's query, HPKE-sealed to each officer
    // and signed by the officer who made it (console standing-criteria.ts). Officers open it to
    // derive the tokens for buckets registered later. NULL for rules and holds made before.
    up: `
ALTER TABLE review_rules ADD COLUMN sealed BLOB;
ALTER TABLE holds ADD COLUMN sealed BLOB;
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
  set_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, role)
) STRICT;
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
  seq INTEGER NOT NULL,
  statement BLOB NOT NULL,
  superseded BLOB NOT NULL,
  issued_at INTEGER NOT NULL,
  rotated_by TEXT NOT NULL,
  rotated_at INTEGER NOT NULL,
  log_index INTEGER NOT NULL,
  PRIMARY KEY (org_id, seq)
) STRICT;
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
ALTER TABLE orgs ADD COLUMN archive_policy_statement BLOB;
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
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  prev_hash BLOB NOT NULL,
  resume_hash BLOB NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('server-restored', 'device-lost')),
  declaration BLOB NOT NULL,
  log_index INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, device_id, first_seq)
) STRICT;
`,
  },
  {
    version: 26,
    name: 'archive gaps: the bucket-disposed reason',
    // core GAP_REASONS gained `bucket-disposed` (records sealed to a bucket whose keys a
    // disposition destroyed before they were archived; docs/archive-format.md §6.1). SQLite
    // cannot change a CHECK in place: the table is rebuilt with its rows (no index but its key).
    up: `
CREATE TABLE archive_gaps_v26 (
  org_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  prev_hash BLOB NOT NULL,
  resume_hash BLOB NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('server-restored', 'device-lost', 'bucket-disposed')),
  declaration BLOB NOT NULL,
  log_index INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, device_id, first_seq)
) STRICT;
INSERT INTO archive_gaps_v26 (org_id, device_id, first_seq, last_seq, prev_hash, resume_hash, reason,
  declaration, log_index, received_at)
  SELECT org_id, device_id, first_seq, last_seq, prev_hash, resume_hash, reason,
    declaration, log_index, received_at FROM archive_gaps;
DROP TABLE archive_gaps;
ALTER TABLE archive_gaps_v26 RENAME TO archive_gaps;
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
  request_hash BLOB NOT NULL,
  answer TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, idem_key, device_id)
) STRICT;
CREATE INDEX relay_send_keys_created ON relay_send_keys (created_at);
`,
  },
  {
    version: 28,
    name: 'directory versions: a per-org counter every change of its devices bumps',
    // The relay caches devices' revocation states and users' device lists per org, and checks
    // in each batch's transaction, with one single-row read, that the org's version is the
    // one it cached at (relay/directory-cache.ts). Triggers bump it in the transaction of
    // every insert, update or delete of a `devices` row, so no code path can forget to. An
    // org without a row is at version 0. A migration that rebuilds `devices` (SQLite's way of
    // changing a constraint) drops these triggers with the old table and must create them again.
    up: `
CREATE TABLE directory_versions (
  org_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) STRICT;
CREATE TRIGGER devices_insert_directory_version AFTER INSERT ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (NEW.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER devices_update_directory_version AFTER UPDATE ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (NEW.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
  UPDATE directory_versions SET version = version + 1
    WHERE org_id = OLD.org_id AND OLD.org_id <> NEW.org_id;
END;
CREATE TRIGGER devices_delete_directory_version AFTER DELETE ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (OLD.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
`,
  },
  {
    version: 29,
    name: 'directory versions: bumped to a value never seen before, by changes the relay caches',
    // Replaces migration 28's triggers (read its comment first). Each bump sets a random value
    // (`random() >> 11` is signed: about ±2^52, negatives included, all safe integers in
    // JavaScript; odd so never 0, the version of an org without a row; negated if it equals
    // the value it replaces, so never that one, though an older value may come back with
    // negligible likelihood) instead of adding 1: only equality is compared, and a counter can
    // come back to a number an API node cached with other contents after a restore of the
    // database file. Only changes of what the relay caches (a device's org, id, user, revocation)
    // bump, so a column added later and written often does not; and a device moved out of an
    // org bumps that org even when it has no row yet (migration 28 updated only an existing
    // row, so an org whose devices predate it stayed at 0). SQLite writers are serialised
    // anyway: there is no lock to shorten here (PostgreSQL's trigger is deferred to commit).
    up: `
DROP TRIGGER devices_insert_directory_version;
DROP TRIGGER devices_update_directory_version;
DROP TRIGGER devices_delete_directory_version;
CREATE TRIGGER devices_insert_directory_version AFTER INSERT ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (NEW.org_id, (random() >> 11) | 1)
    ON CONFLICT (org_id) DO UPDATE SET version =
      CASE WHEN version = excluded.version THEN -excluded.version ELSE excluded.version END;
END;
CREATE TRIGGER devices_update_directory_version
  AFTER UPDATE OF org_id, device_id, user_id, revoked_at ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (NEW.org_id, (random() >> 11) | 1)
    ON CONFLICT (org_id) DO UPDATE SET version =
      CASE WHEN version = excluded.version THEN -excluded.version ELSE excluded.version END;
  INSERT INTO directory_versions (org_id, version)
    SELECT OLD.org_id, (random() >> 11) | 1 WHERE OLD.org_id <> NEW.org_id
    ON CONFLICT (org_id) DO UPDATE SET version =
      CASE WHEN version = excluded.version THEN -excluded.version ELSE excluded.version END;
END;
CREATE TRIGGER devices_delete_directory_version AFTER DELETE ON devices BEGIN
  INSERT INTO directory_versions (org_id, version) VALUES (OLD.org_id, (random() >> 11) | 1)
    ON CONFLICT (org_id) DO UPDATE SET version =
      CASE WHEN version = excluded.version THEN -excluded.version ELSE excluded.version END;
END;
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
  statement BLOB NOT NULL,
  signature BLOB NOT NULL,
  device_id TEXT NOT NULL,
  acknowledged_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, finding_id)
) STRICT;
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
  officer_index INTEGER NOT NULL,
  officer_public_key BLOB NOT NULL,
  statement BLOB NOT NULL,
  bound_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, device_id),
  FOREIGN KEY (org_id, device_id) REFERENCES devices(org_id, device_id)
) STRICT;
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
ALTER TABLE devices ADD COLUMN hand_in_until INTEGER;
`,
  },
  {
    version: 33,
    name: 'finding acknowledgements: one per finding and accepted state',
    // docs/officers.md "Completeness and alerts": a revoked device's finding keeps its id while
    // more of its unarchived receipts become visible, so an officer acknowledges it again with the
    // state they accepted (core finding-acknowledgement.ts version 2, `saw`). The key is the
    // finding and that state: the same state twice is still a refusal, racing officers included.
    // Rows from before are version 1 statements, which have no state (''). SQLite cannot change a
    // primary key in place: the table is rebuilt with its rows.
    up: `
CREATE TABLE completeness_acknowledgements_v33 (
  org_id TEXT NOT NULL,
  finding_id TEXT NOT NULL,
  finding_state TEXT NOT NULL,
  statement BLOB NOT NULL,
  signature BLOB NOT NULL,
  device_id TEXT NOT NULL,
  acknowledged_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, finding_id, finding_state)
) STRICT;
INSERT INTO completeness_acknowledgements_v33 (org_id, finding_id, finding_state, statement, signature,
  device_id, acknowledged_at)
  SELECT org_id, finding_id, '', statement, signature, device_id, acknowledged_at
  FROM completeness_acknowledgements;
DROP TABLE completeness_acknowledgements;
ALTER TABLE completeness_acknowledgements_v33 RENAME TO completeness_acknowledgements;
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
ALTER TABLE holds ADD COLUMN release_statement BLOB;
ALTER TABLE holds ADD COLUMN release_signature BLOB;
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
  log_index INTEGER NOT NULL,
  blob_id TEXT NOT NULL,
  bucket_id TEXT NOT NULL,
  PRIMARY KEY (org_id, log_index, blob_id)
) STRICT;
CREATE INDEX archive_blob_refs_blob ON archive_blob_refs (blob_id);
CREATE TABLE blob_sweep_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  unlisted_through INTEGER NOT NULL
) STRICT;
INSERT INTO blob_sweep_state (id, unlisted_through) SELECT 1, COALESCE(MAX(created_at), 0) FROM blobs;
`,
  },
];
