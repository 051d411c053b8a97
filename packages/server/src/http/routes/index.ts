/** Every route of the API, in documentation order. Later modules (prekeys, relay, blobs, archive, log) append here. */
import type { AnyRoute } from '../route-def.js';
import {
  createEnrolmentCodeRoute,
  createUserRoute,
  listDevicesRoute,
  listUsersRoute,
  revokeDeviceRoute,
  setRetentionRoute,
  setRoleRoute,
} from './admin-routes.js';
import { followRoleRetentionRoute, listRolesRoute, setRoleRetentionRoute } from './role-retention-routes.js';
import { archiveHeadRoute, declareGapRoute, uploadBatchRoute } from './archive-routes.js';
import { challengeRoute, sessionRoute, tokenRoute } from './auth-routes.js';
import { downloadBlobRoute, uploadBlobRoute } from './blob-routes.js';
import {
  approveDispositionRoute,
  createDispositionRoute,
  executeDispositionRoute,
  getDispositionRoute,
} from './disposition-routes.js';
import { registerDeviceRoute } from './device-routes.js';
import { healthRoute } from './health-route.js';
import {
  listBucketsRoute,
  listIndexKeyRecipientsRoute,
  listOfficerWrapsRoute,
  myIndexKeysRoute,
  putIndexKeyRoute,
  putOfficerWrapRoute,
  registerBucketRoute,
  renewKeyManagerRoute,
} from './key-routes.js';
import {
  checkpointHistoryRoute,
  checkpointRoute,
  consistencyProofRoute,
  inclusionProofRoute,
  logInfoRoute,
  receiptRoute,
  tileRoute,
} from './log-routes.js';
import { createOrgRoute, getOrgRoute } from './org-routes.js';
import {
  changeOfficersRoute,
  keyManagerChainRoute,
  keyManagerWrapsRoute,
  rotateKeyManagerRoute,
} from './root-act-routes.js';
import { rootKeyRoute, rotateRootKeyRoute } from './root-key-routes.js';
import { bindOfficerRoute, listOfficerBindingsRoute } from './officer-binding-route.js';
import {
  createLinkCodeRoute,
  listOwnDevicesRoute,
  retireOwnDeviceRoute,
  revokeOwnDeviceRoute,
} from './own-device-routes.js';
import {
  deviceBundleRoute,
  prekeyStatusRoute,
  uploadPrekeysRoute,
  userBundleRoute,
} from './prekey-routes.js';
import { ackMessageRoute, fetchMessagesRoute, sendMessageRoute } from './relay-routes.js';
import { archiveSearchRoute, deviceRecordsRoute } from '../../search/search-routes.js';
import { auditListRoute, latestOfficerChangeRoute, officerHistoryRoute } from '../../review/audit-route.js';
import { REVIEW_ROUTES } from './review-routes.js';
import { recordExportRoute } from './archive-export-routes.js';
import {
  completenessPolicyRoute,
  completenessReportRoute,
  declaredGapsRoute,
} from '../../completeness/completeness-routes.js';
import {
  acknowledgeFindingRoute,
  listAcknowledgementsRoute,
} from '../../completeness/acknowledgement-routes.js';
import { listAlertsRoute } from '../../alerts/alert-routes.js';
import {
  createHoldRoute,
  extendHoldRoute,
  listHoldsRoute,
  releaseHoldRoute,
  resealHoldRoute,
} from './hold-routes.js';

/** The routes `custos server` serves. */
export const ALL_ROUTES: readonly AnyRoute[] = [
  healthRoute,
  createOrgRoute,
  getOrgRoute,
  registerDeviceRoute,
  challengeRoute,
  tokenRoute,
  sessionRoute,
  listUsersRoute,
  createUserRoute,
  setRoleRoute,
  setRetentionRoute,
  followRoleRetentionRoute,
  listRolesRoute,
  setRoleRetentionRoute,
  createEnrolmentCodeRoute,
  listDevicesRoute,
  revokeDeviceRoute,
  listOwnDevicesRoute,
  createLinkCodeRoute,
  revokeOwnDeviceRoute,
  retireOwnDeviceRoute,
  prekeyStatusRoute,
  uploadPrekeysRoute,
  userBundleRoute,
  deviceBundleRoute,
  sendMessageRoute,
  fetchMessagesRoute,
  ackMessageRoute,
  uploadBlobRoute,
  downloadBlobRoute,
  uploadBatchRoute,
  declareGapRoute,
  archiveHeadRoute,
  archiveSearchRoute,
  deviceRecordsRoute,
  createHoldRoute,
  extendHoldRoute,
  resealHoldRoute,
  listHoldsRoute,
  releaseHoldRoute,
  completenessReportRoute,
  declaredGapsRoute,
  completenessPolicyRoute,
  acknowledgeFindingRoute,
  listAcknowledgementsRoute,
  listAlertsRoute,
  recordExportRoute,
  registerBucketRoute,
  listBucketsRoute,
  putOfficerWrapRoute,
  listOfficerWrapsRoute,
  putIndexKeyRoute,
  listIndexKeyRecipientsRoute,
  myIndexKeysRoute,
  renewKeyManagerRoute,
  rotateKeyManagerRoute,
  keyManagerChainRoute,
  keyManagerWrapsRoute,
  changeOfficersRoute,
  bindOfficerRoute,
  listOfficerBindingsRoute,
  rootKeyRoute,
  rotateRootKeyRoute,
  createDispositionRoute,
  getDispositionRoute,
  approveDispositionRoute,
  executeDispositionRoute,
  logInfoRoute,
  checkpointRoute,
  checkpointHistoryRoute,
  tileRoute,
  inclusionProofRoute,
  consistencyProofRoute,
  receiptRoute,
  ...REVIEW_ROUTES,
  auditListRoute,
  latestOfficerChangeRoute,
  officerHistoryRoute,
];
