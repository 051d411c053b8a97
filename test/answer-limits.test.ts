/**
 * The client's answer limits (packages/client/src/transport/answer-limits.ts) restate the
 * server's limits they are sized by: the client does not depend on the server. This keeps the
 * two equal, so a server that answers more (a larger page, a larger blob) is not refused by
 * `custos` for answering what it may.
 */
import { SERVER_ANSWER_BOUNDS } from '@custos/client';
import { describe, expect, it } from 'vitest';
import { MAX_RECORDS_PER_UPLOAD } from '../packages/server/src/archive/archive-defaults.js';
import {
  MAX_REPORT_DEVICES,
  MAX_REPORT_GAPS,
} from '../packages/server/src/completeness/completeness-defaults.js';
import {
  BLOB_MAX_BYTES,
  HTTP_FETCH_PAGE_MAX,
  RELAY_MAX_ENVELOPE_BYTES,
} from '../packages/server/src/config/messaging-defaults.js';
import {
  MAX_HOLD_BUCKETS,
  MAX_MATTER_CHARS,
  MAX_REASON_CHARS,
} from '../packages/server/src/holds/hold-acts.js';
import { MAX_KEY_BLOB_BYTES } from '../packages/server/src/http/routes/key-routes.js';
import { MAX_RULE_BUCKETS, MAX_RULE_NAME, MAX_RULES } from '../packages/server/src/review/review-defaults.js';

describe('answer limits', () => {
  it("restate the server's own limits", () => {
    expect(SERVER_ANSWER_BOUNDS).toEqual({
      MAX_RECORDS_PER_UPLOAD,
      HTTP_FETCH_PAGE_MAX,
      RELAY_MAX_ENVELOPE_BYTES,
      BLOB_MAX_BYTES,
      MAX_KEY_BLOB_BYTES,
      MAX_REPORT_DEVICES,
      MAX_REPORT_GAPS,
      MAX_HOLD_BUCKETS,
      MAX_MATTER_CHARS,
      MAX_REASON_CHARS,
      MAX_RULES,
      MAX_RULE_BUCKETS,
      MAX_RULE_NAME,
    });
  });
});
