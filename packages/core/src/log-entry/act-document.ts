/**
 * The document of an admin or officer act (docs/log.md, "Admin acts"): deterministic CBOR
 * `{org, kind, act, sub, at[, det]}`, `det` left out when the act has no detail. The act's log
 * entry commits to its SHA-256, so the server that writes it and every console that rebuilds an
 * act to find its entry must produce the same bytes: both encode it here.
 */
import { encodeDeterministic } from '../record/deterministic-cbor.js';

/** The fields of an act document. */
export interface ActDocumentFields {
  readonly org: string;
  /** The act's kind, with dots (`completeness.acknowledge`); its log entry's kind has `-`. */
  readonly kind: string;
  /** The acting device, or `bootstrap` for acts authorised by the bootstrap token. */
  readonly actor: string;
  readonly subject: string;
  /** When the act happened (ms). */
  readonly at: number;
  /** null: the act has none, and the document no `det` field. */
  readonly detail: string | null;
}

/** The act's document bytes. */
export function encodeActDocument(a: ActDocumentFields): Uint8Array {
  const doc: Record<string, string | number> = {
    org: a.org,
    kind: a.kind,
    act: a.actor,
    sub: a.subject,
    at: a.at,
  };
  if (a.detail !== null) doc.det = a.detail;
  return encodeDeterministic(doc);
}
