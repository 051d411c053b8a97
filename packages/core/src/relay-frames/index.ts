/** Public surface of core/relay-frames: the relay socket's binary frames. */
export {
  RELAY_BINARY_PROTOCOL,
  RELAY_FRAME_KIND,
  RELAY_ID_BYTES,
  RELAY_MAX_REQ_ID,
  decodeRelayClientFrame,
  decodeRelayServerFrame,
  encodeRelayFrame,
  type RelayFrameLimits,
  type RelaySendFrame,
  type RelayAckFrame,
  type RelayEnvelopeFrame,
  type RelaySentFrame,
  type RelayAckedFrame,
  type RelayClientFrame,
  type RelayServerFrame,
} from './relay-frames.js';
