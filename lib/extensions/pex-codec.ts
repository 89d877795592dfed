import { isIP } from 'node:net'
import bencode from 'bencode'
import { decodeBencode, dictGet, isDict, type BencodeDict } from '../bencode/decode.js'
import { COMPACT_IPV4_LENGTH, COMPACT_IPV6_LENGTH, decodeCompactPeers, encodeCompactPeer, type PeerAddress } from '../tracker/compact.js'
import { ProtocolError } from '../util/errors.js'

/**
 * BEP 11 `ut_pex` messages, the payload of a BEP 10 extended message:
 *
 *   d5:added<6n bytes: IPv4 compact>7:added.f<n bytes: flags>6:added6<18m bytes>8:added6.f<m bytes>
 *    7:dropped<6k bytes>8:dropped6<18j bytes>e
 *
 * One flag byte per added peer: 0x01 prefers encryption, 0x02 seed / upload only, 0x04 supports
 * uTP, 0x08 supports ut_holepunch, 0x10 reachable (we connected to it, so it accepts
 * connections). Other bits are reserved.
 */
export const PEX_FLAG = {
  encryption: 0x01,
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  reachable: 0x10
} as const

export type PexFlags = { readonly [K in keyof typeof PEX_FLAG]: boolean }

export interface PexPeer extends PeerAddress {
  readonly flags: PexFlags
}

export interface PexMessage {
  readonly added: readonly PexPeer[]
  readonly dropped: readonly PeerAddress[]
}

export interface DecodedPex extends PexMessage {
  /** Entries past the limits, duplicate IPs, and invalid addresses: counted, not kept. */
  readonly ignored: number
}

/** BEP 11: "the combined amount of added v4/v6 contacts should not exceed 50", and the same for dropped. */
export const PEX_MAX_PER_MESSAGE = 50

export function flagsFromByte (b: number): PexFlags {
  return {
    encryption: (b & PEX_FLAG.encryption) !== 0,
    seed: (b & PEX_FLAG.seed) !== 0,
    utp: (b & PEX_FLAG.utp) !== 0,
    holepunch: (b & PEX_FLAG.holepunch) !== 0,
    reachable: (b & PEX_FLAG.reachable) !== 0
  }
}

export function flagsToByte (f: Partial<PexFlags>): number {
  let b = 0
  for (const k of Object.keys(PEX_FLAG) as Array<keyof typeof PEX_FLAG>) if (f[k] === true) b |= PEX_FLAG[k]
  return b
}

/**
 * Encodes a message, splitting peers by address family. Peers that are not IP addresses (DNS
 * names) cannot be expressed in PEX and are left out. `added` and `dropped` are always present
 * (BEP 11: a message must hold at least one of the four lists).
 */
export function encodePex (msg: PexMessage): Uint8Array {
  const v4 = msg.added.filter(p => isIP(p.host) === 4)
  const v6 = msg.added.filter(p => isIP(p.host) === 6)
  const d4 = msg.dropped.filter(p => isIP(p.host) === 4)
  const d6 = msg.dropped.filter(p => isIP(p.host) === 6)
  const dict: Record<string, Uint8Array> = {
    added: concat(v4.map(encodeCompactPeer)),
    'added.f': Uint8Array.from(v4.map(p => flagsToByte(p.flags))),
    dropped: concat(d4.map(encodeCompactPeer))
  }
  if (v6.length > 0) {
    dict.added6 = concat(v6.map(encodeCompactPeer))
    dict['added6.f'] = Uint8Array.from(v6.map(p => flagsToByte(p.flags)))
  }
  if (d6.length > 0) dict.dropped6 = concat(d6.map(encodeCompactPeer))
  return bencode.encode(dict)
}

export interface PexLimits {
  /** Added peers (v4 and v6 together) kept from one message; the rest are ignored unread. */
  readonly maxAdded: number
  readonly maxDropped: number
}

/**
 * Decodes a message, reading at most `maxAdded` added and `maxDropped` dropped entries (bytes
 * past them are never turned into addresses, so a 1 MiB `added` costs nothing). An address
 * whose IP already appeared in the message is ignored (BEP 11, security considerations). A
 * payload that is not a bencoded dictionary is a ProtocolError; a field of the wrong type is
 * treated as absent.
 */
export function decodePex (payload: Uint8Array, limits: PexLimits = { maxAdded: PEX_MAX_PER_MESSAGE * 2, maxDropped: PEX_MAX_PER_MESSAGE * 2 }): DecodedPex {
  let value
  try {
    value = decodeBencode(payload)
  } catch (err) {
    throw new ProtocolError(`malformed ut_pex message: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isDict(value)) throw new ProtocolError('malformed ut_pex message: not a dictionary')
  let ignored = 0
  const seenIps = new Set<string>()
  const take = (field: string, flagsField: string | undefined, family: 4 | 6, room: number): PexPeer[] => {
    const bytes = bytesField(value, field)
    if (bytes === undefined) return []
    const stride = family === 4 ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH
    const total = Math.floor(bytes.length / stride)
    const n = Math.min(total, Math.max(0, room))
    ignored += total - n
    const flags = flagsField === undefined ? undefined : bytesField(value, flagsField)
    const out: PexPeer[] = []
    // Entry by entry, so flag byte i stays with entry i when an entry before it is invalid.
    for (let i = 0; i < n; i++) {
      const peer = decodeCompactPeers(bytes.subarray(i * stride, (i + 1) * stride), family).peers[0]
      if (peer === undefined || seenIps.has(peer.host)) { ignored++; continue }
      seenIps.add(peer.host)
      out.push({ host: peer.host, port: peer.port, flags: flagsFromByte(flags?.[i] ?? 0) })
    }
    return out
  }
  const added4 = take('added', 'added.f', 4, limits.maxAdded)
  const added6 = take('added6', 'added6.f', 6, limits.maxAdded - added4.length)
  seenIps.clear()
  const dropped4 = take('dropped', undefined, 4, limits.maxDropped)
  const dropped6 = take('dropped6', undefined, 6, limits.maxDropped - dropped4.length)
  return {
    added: [...added4, ...added6],
    dropped: [...dropped4, ...dropped6].map(p => ({ host: p.host, port: p.port })),
    ignored
  }
}

function bytesField (d: BencodeDict, key: string): Uint8Array | undefined {
  const v = dictGet(d, key)
  return v instanceof Uint8Array ? v : undefined
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}
