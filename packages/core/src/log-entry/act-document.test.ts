/**
 * Act documents against bytes the server wrote before this encoder was shared (pinned here),
 * so a console rebuilding an act finds the entries of servers old and new.
 */
import { describe, expect, it } from 'vitest';
import { encodeActDocument } from './act-document.js';

const ORG = 'OrgOrgOrgOrgOrgOrgOrg1';
const AT = 1_767_139_200_000;

describe('act document', () => {
  it('encodes {org, kind, act, sub, at, det} as the server has always written it', () => {
    const doc = encodeActDocument({
      org: ORG,
      kind: 'completeness.acknowledge',
      actor: 'DevDevDevDevDevDevDev1',
      subject: `gap/${ORG}/d/1-1`,
      at: AT,
      detail: 'statement-sha256=00',
    });
    expect(Buffer.from(doc).toString('hex')).toBe(
      'a66261741b0000019b71b44c00636163747644657644657644657644657644657644657644657631636465747373746174656d656e742d7368613235363d3030636f7267764f72674f72674f72674f72674f72674f72674f7267316373756278206761702f4f72674f72674f72674f72674f72674f72674f7267312f642f312d31646b696e647818636f6d706c6574656e6573732e61636b6e6f776c65646765',
    );
  });

  it('leaves det out when the act has no detail (an empty detail is kept)', () => {
    const doc = (detail: string | null) =>
      encodeActDocument({ org: ORG, kind: 'org.create', actor: 'bootstrap', subject: ORG, at: AT, detail });
    expect(Buffer.from(doc(null)).toString('hex')).toBe(
      'a56261741b0000019b71b44c006361637469626f6f747374726170636f7267764f72674f72674f72674f72674f72674f72674f72673163737562764f72674f72674f72674f72674f72674f72674f726731646b696e646a6f72672e637265617465',
    );
    expect(doc('')).not.toEqual(doc(null));
  });
});
