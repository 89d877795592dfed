import { MagnetError } from '../util/errors.js'
import { decodeBase32 } from '../util/base32.js'
import { parseHostPort, type PeerAddress } from '../tracker/compact.js'

/**
 * A magnet URI (BEP 9):
 *   magnet:?xt=urn:btih:<info-hash>&dn=<name>&tr=<tracker-url>&x.pe=<peer-address>
 *   magnet:?xt=urn:btmh:1220<sha256 hex>&...            (BEP 52 v2; both xt for a hybrid)
 * plus `ws` web seeds (BEP 19) and `so` select-only file indices (BEP 53: `so=0,2,4-6`).
 */
export interface Magnet {
  /**
   * The 20-byte swarm id for handshakes, trackers and the DHT: the `urn:btih` hash, or for a
   * v2-only magnet (`urn:btmh` alone) the SHA-256 info hash truncated to 20 bytes (BEP 52).
   */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** BEP 52 `urn:btmh:1220<sha256>`: the full v2 info hash (32 bytes), without the multihash prefix. */
  readonly infoHashV2?: Uint8Array
  readonly infoHashV2Hex?: string
  /** 'v1': btih only; 'hybrid': btih and btmh (both swarms); 'v2': btmh only. */
  readonly version: 'v1' | 'hybrid' | 'v2'
  readonly name?: string
  readonly trackers: string[]
  readonly peers: { host: string, port: number }[]
  readonly webSeeds: string[]
  /** BEP 53 file indices, ascending, without repeats. */
  readonly selectOnly?: number[]
}

export interface MagnetOptions {
  /**
   * No longer needed: v2-only magnets are always accepted (their metadata comes by BEP 9 keyed
   * by the truncated v2 hash, their piece layers by BEP 52 hash requests). Kept for callers.
   */
  readonly allowV2Only?: boolean
}
/** BEP 52: the v2 info hash is truncated to 20 bytes where a 20-byte id is expected. */
const TRUNCATED_LENGTH = 20

/** A `so=` range like `0-4000000000` must not make us build a four-billion-entry array. */
export const MAX_SELECT_ONLY = 100_000
/** Multihash prefix for SHA2-256 with a 32-byte digest: 0x12, 0x20 (BEP 9, BEP 52). */
const BTMH_SHA256 = /^1220[0-9a-f]{64}$/

export function parseMagnet (uri: string, opts: MagnetOptions = {}): Magnet {
  const m = /^magnet:\?(.*)$/is.exec(uri.trim())
  if (m === null) throw new MagnetError('not a magnet URI (expected "magnet:?xt=urn:btih:...")')
  let infoHash: Uint8Array | undefined
  let v2: string | undefined
  let name: string | undefined
  const trackers: string[] = []
  const peers: { host: string, port: number }[] = []
  const webSeeds: string[] = []
  let selectOnly: number[] | undefined
  for (const part of (m[1] as string).split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = eq === -1 ? part : part.slice(0, eq)
    const raw = eq === -1 ? '' : part.slice(eq + 1)
    if (/^xt(\.\d+)?$/.test(key)) {
      const value = percentDecode(raw, key)
      const btih = /^urn:btih:(.*)$/i.exec(value)
      const btmh = /^urn:btmh:(.*)$/i.exec(value)
      if (btih !== null) {
        const hash = decodeInfoHash(btih[1] as string)
        if (infoHash !== undefined && !Buffer.from(infoHash).equals(hash)) throw new MagnetError('magnet names two different urn:btih info hashes')
        infoHash = hash
      } else if (btmh !== null) {
        const hex = (btmh[1] as string).toLowerCase()
        if (!BTMH_SHA256.test(hex)) throw new MagnetError(`urn:btmh: "${btmh[1] as string}" is not a SHA2-256 multihash (1220 + 64 hex digits)`)
        const digest = hex.slice(4)
        if (v2 !== undefined && v2 !== digest) throw new MagnetError('magnet names two different urn:btmh info hashes')
        v2 = digest
      }
      // Other exact topics (ed2k, sha1 of a file, ...) are not BitTorrent; ignored.
    } else if (key === 'dn') {
      name = percentDecode(raw.replace(/\+/g, ' '), key)
    } else if (key === 'tr') {
      pushUnique(trackers, percentDecode(raw, key))
    } else if (key === 'ws') {
      pushUnique(webSeeds, percentDecode(raw, key))
    } else if (key === 'x.pe') {
      const peer = parsePeer(percentDecode(raw, key))
      if (!peers.some(p => p.host === peer.host && p.port === peer.port)) peers.push(peer)
    } else if (key === 'so') {
      selectOnly = parseSelectOnly(percentDecode(raw, key), selectOnly)
    }
  }
  if (infoHash === undefined && v2 === undefined) throw new MagnetError('magnet has no "xt=urn:btih:" (or "xt=urn:btmh:") info hash')
  const v2Bytes = v2 === undefined ? undefined : new Uint8Array(Buffer.from(v2, 'hex'))
  const swarmId = infoHash ?? (v2Bytes as Uint8Array).slice(0, TRUNCATED_LENGTH)
  return {
    infoHash: swarmId,
    infoHashHex: Buffer.from(swarmId).toString('hex'),
    ...(v2Bytes === undefined ? {} : { infoHashV2: v2Bytes, infoHashV2Hex: v2 }),
    version: infoHash === undefined ? 'v2' : v2 === undefined ? 'v1' : 'hybrid',
    ...(name === undefined ? {} : { name }),
    trackers,
    peers,
    webSeeds,
    ...(selectOnly === undefined ? {} : { selectOnly })
  }
}

function percentDecode (s: string, key: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new MagnetError(`bad percent-encoding in "${key}": ${s.slice(0, 80)}`)
  }
}

function pushUnique (list: string[], v: string): void {
  if (v !== '' && !list.includes(v)) list.push(v)
}

/** BEP 9: 40 hex digits, or 32 base32 characters for links in the wild. */
function decodeInfoHash (text: string): Uint8Array {
  if (/^[0-9a-f]{40}$/i.test(text)) return new Uint8Array(Buffer.from(text, 'hex'))
  if (text.length === 32) {
    const bytes = decodeBase32(text)
    if (bytes !== undefined) return bytes
  }
  throw new MagnetError(`urn:btih: "${text.slice(0, 80)}" is neither 40 hex digits nor 32 base32 characters`)
}

/** BEP 9 peer address: `hostname:port`, `ipv4:port` or `[ipv6]:port`. */
function parsePeer (s: string): PeerAddress {
  const addr = parseHostPort(s)
  if (addr === undefined) throw new MagnetError(`x.pe "${s.slice(0, 80)}" is not host:port or [ipv6]:port`)
  return addr
}

/** BEP 53: `so=0,2,4-6` means files 0, 2, 4, 5 and 6. */
function parseSelectOnly (s: string, previous: number[] | undefined): number[] {
  const set = new Set(previous)
  for (const item of s.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(item)
    if (m === null) throw new MagnetError(`so "${s.slice(0, 80)}": "${item.slice(0, 20)}" is not an index or a range like 4-6`)
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (to < from) throw new MagnetError(`so range ${item} runs backwards`)
    if (to - from + set.size >= MAX_SELECT_ONLY) throw new MagnetError(`so selects more than ${MAX_SELECT_ONLY} files`)
    for (let i = from; i <= to; i++) set.add(i)
  }
  return [...set].sort((a, b) => a - b)
}
