import { encodeReserved, type Handshake } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'

/** Piece count the fixtures are valid for. */
export const PIECES = 100

/** One of every message type of BEP 3, BEP 6 and BEP 10, with distinct field values. */
export const EVERY_MESSAGE: readonly Message[] = [
  { type: 'keepAlive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'notInterested' },
  { type: 'have', index: 99 },
  { type: 'bitfield', bitfield: Uint8Array.from([0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30]) },
  { type: 'request', index: 7, begin: 16384, length: 16384 },
  { type: 'piece', index: 3, begin: 32768, block: Uint8Array.from({ length: 300 }, (_v, i) => i & 0xff) },
  { type: 'cancel', index: 7, begin: 16384, length: 16384 },
  { type: 'port', port: 6881 },
  { type: 'suggest', index: 12 },
  { type: 'haveAll' },
  { type: 'haveNone' },
  { type: 'reject', index: 8, begin: 0, length: 100 },
  { type: 'allowedFast', index: 42 },
  { type: 'extended', id: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai3eee') },
  { type: 'extended', id: 3, payload: Uint8Array.from([1, 2, 3]) },
  { type: 'unknown', id: 77, payload: Uint8Array.from([9, 9]) }
]

export const HANDSHAKE: Handshake = {
  reserved: encodeReserved({ extended: true, fast: true, dht: false }),
  infoHash: new Uint8Array(20).fill(0xab),
  peerId: new TextEncoder().encode('-qB4650-abcdefghijkl')
}

