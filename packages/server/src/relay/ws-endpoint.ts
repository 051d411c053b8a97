/** Registers `/v1/ws`, the delivery socket, on the app (@fastify/websocket). */
import { RELAY_BINARY_PROTOCOL } from '@custos/core';
import websocket from '@fastify/websocket';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WS_MAX_FRAME_BYTES } from '../config/messaging-defaults.js';
import type { AppDeps } from '../http/route-def.js';
import { messagingOf } from './messaging-services.js';
import { serveRelaySocket } from './ws-connection.js';

/** The path of the delivery socket. */
export const RELAY_SOCKET_PATH = '/v1/ws';

/** Adds the WebSocket plugin (frames up to WS_MAX_FRAME_BYTES, subprotocol RELAY_BINARY_PROTOCOL) and the `/v1/ws` route. */
export async function registerRelaySocket(app: FastifyInstance, deps: AppDeps): Promise<void> {
  await app.register(websocket, {
    options: {
      maxPayload: WS_MAX_FRAME_BYTES,
      // The one subprotocol: binary hot frames (core/relay-frames). A client offering none
      // (or none known) speaks JSON frames only.
      handleProtocols: (offered: Set<string>) =>
        offered.has(RELAY_BINARY_PROTOCOL) ? RELAY_BINARY_PROTOCOL : false,
    },
  });
  const m = messagingOf(deps);
  // The upgraded request's socket is the one the WebSocket writes to (IncomingMessage.socket,
  // public API, unlike ws's private _socket); injected test sockets have none.
  app.get(RELAY_SOCKET_PATH, { websocket: true }, (socket, request) =>
    serveRelaySocket(socket, (request.raw.socket as Duplex | null | undefined) ?? undefined, deps, m),
  );
}
