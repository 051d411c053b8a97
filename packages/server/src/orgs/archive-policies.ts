/**
 * Which organisations archive, as the server acts on it: archive ingest is refused and relay
 * receipts are not logged for an org whose archive policy is `none`. A policy is fixed when
 * the org is created (no route changes it), so each org's answer is read from the store once
 * per process and then kept.
 */
import type { OrgId } from '../ids.js';
import type { Stores } from '../store/stores.js';

/** Remembered policies, one instance per API node (or per store set, {@link archivePoliciesFor}). */
export class OrgArchivePolicies {
  readonly #known = new Map<OrgId, boolean>();

  /**
   * Whether `orgId` archives, read with `stores` (pass the transaction when inside one). An
   * unknown org counts as archiving and is not remembered: the default never switches
   * anything off, and the org may be created a moment later.
   */
  archives(orgId: OrgId, stores: Pick<Stores, 'orgs'>): boolean | Promise<boolean> {
    const known = this.#known.get(orgId);
    if (known !== undefined) return known;
    return stores.orgs.archives(orgId).then((v) => {
      if (v !== undefined) this.#known.set(orgId, v);
      return v ?? true;
    });
  }
}

const byStores = new WeakMap<object, OrgArchivePolicies>();

/** The remembered policies of the store set `stores` (one per server's stores). */
export function archivePoliciesFor(stores: Stores): OrgArchivePolicies {
  let p = byStores.get(stores);
  if (p === undefined) byStores.set(stores, (p = new OrgArchivePolicies()));
  return p;
}
