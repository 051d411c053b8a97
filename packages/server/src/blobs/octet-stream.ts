/** Lets routes take raw bytes (`application/octet-stream`): blob uploads. The route's bodyLimit applies. */
import type { FastifyInstance } from 'fastify';

/** Registers the octet-stream body parser; the body arrives as one Buffer. */
export function registerOctetStream(app: FastifyInstance): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
}
