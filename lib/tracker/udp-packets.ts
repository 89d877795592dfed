import { TrackerError } from '../util/errors.js'
import { MAX_PEERS_PER_ANNOUNCE, decodeCompactPeers, overLimitWarning } from './compact.js'
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse, ScrapeResult } from './types.js'

/** BEP 15 actions. */
export const ACTION_CONNECT = 0
export const ACTION_ANNOUNCE = 1
export const ACTION_SCRAPE = 2
export const ACTION_ERROR = 3

/** `protocol_id`, the magic constant that opens every connect request. */
const PROTOCOL_ID = 0x41727101980n
/** BEP 15 `event`: 0 none, 1 completed, 2 started, 3 stopped. */
const EVENT_CODE: Record<string, number> = { completed: 1, started: 2, stopped: 3 }
/** "Up to about 74 torrents can be scraped at once" (BEP 15): what fits in one datagram. */
export const MAX_SCRAPE_HASHES = 74

/**
 * connect request:
 * `<protocol_id 8><action=0 4><transaction_id 4>` (16 bytes)
 */
export function encodeConnect (transactionId: number): Uint8Array {
  const b = new Uint8Array(16)
  const v = new DataView(b.buffer)
  v.setBigUint64(0, PROTOCOL_ID)
  v.setUint32(8, ACTION_CONNECT)
  v.setUint32(12, transactionId)
  return b
}

/**
 * announce request (98 bytes):
 * `<connection_id 8><action=1 4><transaction_id 4><info_hash 20><peer_id 20><downloaded 8>`
 * `<left 8><uploaded 8><event 4><IP address=0 4><key 4><num_want 4><port 2>`
 */
export function encodeAnnounce (connectionId: Uint8Array, transactionId: number, req: AnnounceRequest): Uint8Array {
  const b = new Uint8Array(98)
  const v = new DataView(b.buffer)
  b.set(connectionId, 0)
  v.setUint32(8, ACTION_ANNOUNCE)
  v.setUint32(12, transactionId)
  b.set(req.infoHash.subarray(0, 20), 16)
  b.set(req.peerId.subarray(0, 20), 36)
  v.setBigUint64(56, BigInt(req.downloaded))
  v.setBigUint64(64, BigInt(req.left))
  v.setBigUint64(72, BigInt(req.uploaded))
  v.setUint32(80, eventCode(req.event))
  v.setUint32(84, 0)
  v.setUint32(88, req.key >>> 0)
  v.setInt32(92, req.numwant)
  v.setUint16(96, req.port)
  return b
}

/** scrape request: `<connection_id 8><action=2 4><transaction_id 4>(<info_hash 20>)*` */
export function encodeScrape (connectionId: Uint8Array, transactionId: number, infoHashes: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(16 + 20 * infoHashes.length)
  const v = new DataView(b.buffer)
  b.set(connectionId, 0)
  v.setUint32(8, ACTION_SCRAPE)
  v.setUint32(12, transactionId)
  infoHashes.forEach((h, i) => b.set(h.subarray(0, 20), 16 + 20 * i))
  return b
}

/** The two fields every response starts with, or undefined for a packet under 8 bytes. */
export function responseHeader (packet: Uint8Array): { action: number, transactionId: number } | undefined {
  if (packet.length < 8) return undefined
  const v = view(packet)
  return { action: v.getUint32(0), transactionId: v.getUint32(4) }
}

/** error response: `<action=3 4><transaction_id 4><message>`; the message as text. */
export function decodeError (packet: Uint8Array): string {
  return Buffer.from(packet.subarray(8, 8 + 300)).toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?') || '(no message)'
}

/** connect response: `<action=0 4><transaction_id 4><connection_id 8>`; the connection id. */
export function decodeConnect (packet: Uint8Array): Uint8Array {
  if (packet.length < 16) throw new TrackerError(`connect response too short (${packet.length} bytes, need 16)`)
  return packet.slice(8, 16)
}

/**
 * announce response:
 * `<action=1 4><transaction_id 4><interval 4><leechers 4><seeders 4>(<IP><port 2>)*` where
 * the IP is 4 bytes when the datagram came over IPv4 and 16 over IPv6 (BEP 15, "IPv6").
 */
export function decodeAnnounce (packet: Uint8Array, family: 4 | 6): AnnounceResponse {
  if (packet.length < 20) throw new TrackerError(`announce response too short (${packet.length} bytes, need 20)`)
  const v = view(packet)
  const interval = v.getUint32(8)
  const { peers, invalid, trailingBytes, overLimit } = decodeCompactPeers(packet.subarray(20), family, MAX_PEERS_PER_ANNOUNCE)
  const warnings: string[] = []
  if (invalid > 0) warnings.push(`dropped ${invalid} invalid peer entr${invalid === 1 ? 'y' : 'ies'}`)
  if (trailingBytes > 0) warnings.push(`ignored ${trailingBytes} trailing bytes of the IPv${family} peer list`)
  if (overLimit > 0) warnings.push(overLimitWarning(peers.length, overLimit))
  return {
    // A zero interval would have us announce in a loop; treat it like a missing one.
    interval: interval > 0 ? interval : 1800,
    incomplete: v.getUint32(12),
    complete: v.getUint32(16),
    peers,
    warnings
  }
}

/** scrape response: `<action=2 4><transaction_id 4>(<seeders 4><completed 4><leechers 4>)*` */
export function decodeScrape (packet: Uint8Array, count: number): ScrapeResult[] {
  if (packet.length < 8 + 12 * count) throw new TrackerError(`scrape response too short (${packet.length} bytes, need ${8 + 12 * count})`)
  const v = view(packet)
  const out: ScrapeResult[] = []
  for (let i = 0; i < count; i++) {
    const off = 8 + 12 * i
    out.push({ complete: v.getUint32(off), downloaded: v.getUint32(off + 4), incomplete: v.getUint32(off + 8) })
  }
  return out
}

function eventCode (event: AnnounceEvent): number {
  return event === undefined ? 0 : EVENT_CODE[event] ?? 0
}

function view (b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength)
}
