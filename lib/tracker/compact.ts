import { isIP } from 'node:net'

/**
 * Where a peer listens: the one address type the trackers, the swarm and PEX (BEP 11) share.
 * `host` is an IPv4 dotted quad, an IPv6 address without brackets, or (from BEP 3 dictionary
 * peers only) a DNS name.
 */
export interface PeerAddress {
  readonly host: string
  readonly port: number
}

/** BEP 23: `<4-byte IPv4><2-byte port>`, big endian. */
export const COMPACT_IPV4_LENGTH = 6
/** BEP 7: `<16-byte IPv6><2-byte port>`, big endian. */
export const COMPACT_IPV6_LENGTH = 18

/** A peer's key for de-duplication: `1.2.3.4:6881`, `[::1]:6881`. */
export function formatPeer (peer: PeerAddress): string {
  return peer.host.includes(':') ? `[${peer.host}]:${peer.port}` : `${peer.host}:${peer.port}`
}

/**
 * Peers we keep from one tracker answer. We ask for 50 (`numwant`), libtorrent for 200, and a
 * tracker that honours numwant never sends more; one that ignores it can send 170 000 in a 1 MiB
 * body (or ~10 900 in one UDP datagram). 500 keeps every answer a client asked for whole, while
 * one tracker fills at most a tenth of the swarm's pool of known peers (5000). The rest are not
 * even decoded: the tracker's list is usually shuffled, and the next announce brings others.
 */
export const MAX_PEERS_PER_ANNOUNCE = 500

/** The decoded peers and how many bytes did not make a whole entry (a truncated list). */
export interface CompactPeers {
  readonly peers: PeerAddress[]
  /** Entries dropped as obviously invalid (port 0, unspecified, broadcast or multicast address). */
  readonly invalid: number
  readonly trailingBytes: number
  /** Whole entries left unread because `limit` peers were already kept. */
  readonly overLimit: number
}

/**
 * Decodes a compact peer list: `family` 4 reads 6-byte entries (BEP 23), 6 reads 18-byte entries
 * (BEP 7). A trailing partial entry is counted, not guessed at. At most `limit` valid peers are
 * kept; the entries after them are counted in `overLimit`, not decoded.
 */
export function decodeCompactPeers (bytes: Uint8Array, family: 4 | 6, limit = Infinity): CompactPeers {
  const stride = family === 4 ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH
  const peers: PeerAddress[] = []
  let invalid = 0
  const whole = bytes.length - (bytes.length % stride)
  let off = 0
  for (; off < whole && peers.length < limit; off += stride) {
    const host = family === 4 ? ipv4At(bytes, off) : ipv6At(bytes, off)
    const port = ((bytes[off + stride - 2] as number) << 8) | (bytes[off + stride - 1] as number)
    const peer = validPeer(host, port)
    if (peer === undefined) invalid++
    else peers.push(peer)
  }
  return { peers, invalid, trailingBytes: bytes.length - whole, overLimit: (whole - off) / stride }
}

/** Encodes one peer as 6 (IPv4) or 18 (IPv6) bytes; throws RangeError for a DNS name. */
export function encodeCompactPeer (peer: PeerAddress): Uint8Array {
  const family = isIP(peer.host)
  if (family === 0) throw new RangeError(`cannot encode "${peer.host}" compactly: not an IP address`)
  if (!Number.isInteger(peer.port) || peer.port < 1 || peer.port > 65535) throw new RangeError(`invalid port ${peer.port}`)
  const out = new Uint8Array(family === 4 ? COMPACT_IPV4_LENGTH : COMPACT_IPV6_LENGTH)
  if (family === 4) out.set(peer.host.split('.').map(Number), 0)
  else out.set(ipv6Bytes(peer.host), 0)
  out[out.length - 2] = peer.port >> 8
  out[out.length - 1] = peer.port & 0xff
  return out
}

/** Encodes a list of peers of one family back to back (the inverse of decodeCompactPeers). */
export function encodeCompactPeers (peers: readonly PeerAddress[]): Uint8Array {
  const parts = peers.map(encodeCompactPeer)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/**
 * A peer we would ever dial, normalised (IPv4-mapped IPv6 becomes IPv4, IPv6 lower case), or
 * undefined for obviously invalid entries: port outside 1..65535, the unspecified, broadcast or
 * a multicast address, or a host that is neither an IP address nor a DNS name.
 */
export function validPeer (host: string, port: number): PeerAddress | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  let h = host.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  if (mapped !== null) h = mapped[1] as string
  const family = isIP(h)
  if (family === 4) {
    const first = Number(h.split('.')[0])
    if (h === '0.0.0.0' || h === '255.255.255.255' || (first >= 224 && first <= 239)) return undefined
  } else if (family === 6) {
    if (ipv6Bytes(h).every(b => b === 0) || h.startsWith('ff')) return undefined
  } else if (!HOSTNAME.test(h) || /^[\d.]+$/.test(h)) {
    return undefined
  }
  return { host: h, port }
}

function ipv4At (b: Uint8Array, off: number): string {
  return `${b[off] as number}.${b[off + 1] as number}.${b[off + 2] as number}.${b[off + 3] as number}`
}

/** RFC 5952 text: lower case, the longest run of zero groups (two or more) shortened to `::`. */
function ipv6At (b: Uint8Array, off: number): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push(((b[off + 2 * i] as number) << 8) | (b[off + 2 * i + 1] as number))
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':')
}

/** The 16 bytes of a valid IPv6 text address (an embedded IPv4 tail is rewritten as two groups). */
function ipv6Bytes (text: string): Uint8Array {
  const s = text.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    ((Number(a) << 8) | Number(b)).toString(16) + ':' + ((Number(c) << 8) | Number(d)).toString(16))
  const [head = '', rest] = s.split('::')
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map(g => parseInt(g, 16))
  const left = parse(head)
  const right = rest === undefined ? [] : parse(rest)
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff })
  return out
}

/**
 * A typed-in or magnet (`x.pe`) address: `hostname:port`, `ipv4:port` or `[ipv6]:port`.
 * Undefined when it is none of those or the port is not 1..65535; callers word their own error.
 */
export function parseHostPort (s: string): PeerAddress | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/i.exec(s)
  const port = m === null ? 0 : Number(m[3])
  if (m === null || port < 1 || port > 65535) return undefined
  return { host: (m[1] ?? m[2]) as string, port }
}

/** The announce warning for a list cut at MAX_PEERS_PER_ANNOUNCE. */
export function overLimitWarning (kept: number, overLimit: number): string {
  return `kept ${kept} peers and ignored ${overLimit} more (at most ${MAX_PEERS_PER_ANNOUNCE} per announce)`
}
