import { ProtocolError } from '../util/errors.js'

/**
 * The BEP 3 handshake, 68 bytes:
 *
 *   <pstrlen=19><pstr="BitTorrent protocol"><reserved: 8 bytes><info_hash: 20><peer_id: 20>
 *
 * Reserved bits we know (bytes numbered 0..7 from the left):
 *   BEP 10 extension protocol  reserved[5] & 0x10
 *   BEP 6  fast extension      reserved[7] & 0x04
 *   BEP 5  DHT                 reserved[7] & 0x01
 *   BEP 52 supports v2         reserved[7] & 0x10 ("the 4th most significant bit in the last
 *                              byte"). libtorrent 2.0 answers a hybrid torrent's v1 hash sent
 *                              with this bit by upgrading: its handshake carries the truncated
 *                              v2 hash instead (seen on 2.0.x), so a dialer that sets the bit for
 *                              a hybrid must accept either hash in the reply.
 */
export const HANDSHAKE_LENGTH = 68
/** BEP 52 "supports v2", in reserved[7]. */
export const V2_BIT = 0x10
export const PROTOCOL = 'BitTorrent protocol'
const PSTR = new TextEncoder().encode(PROTOCOL)

export interface Handshake {
  /** The 8 reserved bytes as sent (a copy). */
  readonly reserved: Uint8Array
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
}

/** The extensions a reserved field advertises. */
export interface ReservedBits {
  readonly extended: boolean
  readonly fast: boolean
  readonly dht: boolean
  /** BEP 52: we can speak v2 (hash requests, the v2 swarm); optional for the callers that predate it. */
  readonly v2?: boolean
}

export function encodeReserved (bits: ReservedBits): Uint8Array {
  const r = new Uint8Array(8)
  if (bits.extended) r[5] = 0x10
  r[7] = (bits.fast ? 0x04 : 0) | (bits.dht ? 0x01 : 0) | (bits.v2 === true ? V2_BIT : 0)
  return r
}

export function decodeReserved (reserved: Uint8Array): ReservedBits {
  return {
    extended: ((reserved[5] ?? 0) & 0x10) !== 0,
    fast: ((reserved[7] ?? 0) & 0x04) !== 0,
    dht: ((reserved[7] ?? 0) & 0x01) !== 0,
    // Present only when set: what peers without it decoded to stays as it was.
    ...(((reserved[7] ?? 0) & V2_BIT) !== 0 ? { v2: true } : {})
  }
}

export function encodeHandshake (h: Handshake): Uint8Array {
  if (h.infoHash.length !== 20) throw new RangeError('info hash must be 20 bytes')
  if (h.peerId.length !== 20) throw new RangeError('peer id must be 20 bytes')
  if (h.reserved.length !== 8) throw new RangeError('reserved must be 8 bytes')
  const out = new Uint8Array(HANDSHAKE_LENGTH)
  out[0] = PSTR.length
  out.set(PSTR, 1)
  out.set(h.reserved, 20)
  out.set(h.infoHash, 28)
  out.set(h.peerId, 48)
  return out
}

/**
 * Reads the 68 bytes of a handshake. Anything other than BEP 3's protocol string is a
 * ProtocolError (encrypted or non-BitTorrent traffic). Fields are copied: they outlive the chunk.
 */
export function decodeHandshake (bytes: Uint8Array): Handshake {
  if (bytes.length !== HANDSHAKE_LENGTH) throw new ProtocolError(`handshake of ${bytes.length} bytes`)
  if (bytes[0] !== PSTR.length) throw new ProtocolError(`not a BitTorrent handshake (protocol string length ${bytes[0] ?? '?'})`)
  for (let i = 0; i < PSTR.length; i++) {
    if (bytes[1 + i] !== PSTR[i]) throw new ProtocolError('not a BitTorrent handshake (protocol string differs)')
  }
  return {
    reserved: bytes.slice(20, 28),
    infoHash: bytes.slice(28, 48),
    peerId: bytes.slice(48, 68)
  }
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
