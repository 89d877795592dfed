import { isIPv4, isIPv6 } from 'node:net'
import bencode from 'bencode'
import { decodeBencodePrefix } from '../bencode/decode.js'
import { ProtocolError } from '../util/errors.js'
import { copyBytes } from '../util/copy-bytes.js'

/**
 * The BEP 10 extension handshake: extended message id 0, payload a bencoded dictionary,
 * every item optional:
 *
 *   d1:md11:ut_metadatai3ee13:metadata_sizei31235e1:pi6881e4:reqqi250e1:v15:bt-stream 0.1.0
 *    6:yourip4:<4 bytes>e
 *
 * `m` maps extension names to the extended message id the *sender* wants to receive them on;
 * 0 disables. Unknown keys are ignored; a known key of the wrong type is ignored too (the key is
 * optional, and a peer's bug there should not cost us the peer). Only a payload that is not a
 * bencoded dictionary, or an `m` that is not a dictionary, is a ProtocolError.
 */
export interface ExtendedHandshake {
  /** Extension name → id; 0 means the sender disabled it (BEP 10: `m` is additive). */
  readonly m: Readonly<Record<string, number>>
  /** Client name and version (`v`). */
  readonly v?: string
  /** The sender's TCP listen port (`p`). */
  readonly p?: number
  /** Requests the sender queues without dropping (`reqq`). */
  readonly reqq?: number
  /** BEP 9: bytes of the info dictionary. */
  readonly metadataSize?: number
  /** Our address as the sender sees it: 4 (IPv4) or 16 (IPv6) bytes. */
  readonly yourip?: Uint8Array
}

/** Extended message id of the handshake itself. */
export const EXTENDED_HANDSHAKE_ID = 0
/** Largest metadata_size we believe (BEP 9 metadata is the info dict; 64 MiB is far past any real one). */
export const MAX_METADATA_SIZE = 64 * 1024 * 1024

export function encodeExtendedHandshake (h: ExtendedHandshake): Uint8Array {
  const dict: Record<string, unknown> = { m: { ...h.m } }
  if (h.v !== undefined) dict.v = h.v
  if (h.p !== undefined) dict.p = h.p
  if (h.reqq !== undefined) dict.reqq = h.reqq
  if (h.metadataSize !== undefined) dict.metadata_size = h.metadataSize
  if (h.yourip !== undefined) dict.yourip = h.yourip
  return bencode.encode(dict)
}

/**
 * Reads a peer's handshake payload. The bytes go through the bounded decoder (scanBencode first):
 * the `bencode` package alone loops for ever on a negative string length such as `l-3:e`. Bytes
 * after the dictionary are ignored, as the package (and libtorrent) always did: they cost nothing.
 */
export function decodeExtendedHandshake (payload: Uint8Array): ExtendedHandshake {
  let value: unknown
  try {
    value = decodeBencodePrefix(payload).value
  } catch (err) {
    throw new ProtocolError(`malformed extension handshake: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isDict(value)) throw new ProtocolError('malformed extension handshake: not a dictionary')
  const m: Record<string, number> = Object.create(null) as Record<string, number>
  const rawM = own(value, 'm')
  if (rawM !== undefined) {
    if (!isDict(rawM)) throw new ProtocolError('malformed extension handshake: "m" is not a dictionary')
    for (const [name, id] of Object.entries(rawM)) {
      if (Number.isInteger(id) && (id as number) >= 0 && (id as number) <= 255) m[name] = id as number
    }
  }
  const out: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = { m }
  const v = own(value, 'v')
  if (v instanceof Uint8Array) out.v = new TextDecoder().decode(v)
  const p = intIn(own(value, 'p'), 1, 65535)
  if (p !== undefined) out.p = p
  const reqq = intIn(own(value, 'reqq'), 1, 1_000_000)
  if (reqq !== undefined) out.reqq = reqq
  const size = intIn(own(value, 'metadata_size'), 1, MAX_METADATA_SIZE)
  if (size !== undefined) out.metadataSize = size
  const yourip = own(value, 'yourip')
  if (yourip instanceof Uint8Array && (yourip.length === 4 || yourip.length === 16)) out.yourip = copyBytes(yourip)
  return out
}

function isDict (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** Own keys only: bencode decodes into plain objects, where a `__proto__` key is not our data. */
function own (d: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(d, key) ? d[key] : undefined
}

function intIn (v: unknown, min: number, max: number): number | undefined {
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? v as number : undefined
}

/** BEP 10 `yourip`: the compact form of an address (4 or 16 bytes). */
export function compactAddress (address: string | undefined): Uint8Array | undefined {
  if (address === undefined) return undefined
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
  if (isIPv4(v4)) return Uint8Array.from(v4.split('.').map(Number))
  if (!isIPv6(address)) return undefined
  const [head = '', tail = ''] = address.split('::')
  const parts = (s: string): number[] => s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const a = parts(head)
  const b = parts(tail)
  const words = address.includes('::') ? [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b] : a
  if (words.length !== 8 || words.some(w => !(w >= 0 && w <= 0xffff))) return undefined
  const out = new Uint8Array(16)
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff })
  return out
}
