/** The only operational route: a liveness check that says nothing about the install. */
import { Type } from 'typebox';
import { defineRoute, PUBLIC } from '../route-def.js';

/** GET /healthz */
export const healthRoute = defineRoute({
  method: 'GET',
  url: '/healthz',
  summary: 'Liveness: `{"status":"ok"}`. There is no metrics, debug, dump or inspector route.',
  access: PUBLIC,
  response: {
    status: 200,
    schema: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }),
  },
  errors: [],
  async handler() {
    return { status: 'ok' as const };
  },
});
