import { decodeBencodePrefix } from '../bencode/decode.js'
import { TrackerError } from '../util/errors.js'
import { MAX_PEERS_PER_ANNOUNCE, decodeCompactPeers, overLimitWarning, validPeer, type PeerAddress } from './compact.js'
import { httpGet } from './http-get.js'
import type { AnnounceRequest, AnnounceResponse, Tracker } from './types.js'

export interface HttpTrackerOptions {
  readonly timeoutMs?: number
  readonly maxResponseBytes?: number
  readonly maxRedirects?: number
}

/** A tracker answer is a few KiB; 1 MiB leaves room for huge peer lists and stops a flood. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
export const DEFAULT_HTTP_TIMEOUT_MS = 15_000
export const DEFAULT_MAX_REDIRECTS = 5
/** When a tracker forgets `interval`, re-announce every half hour (a common tracker default). */
const FALLBACK_INTERVAL_S = 1800

/** An HTTP(S) tracker (BEP 3), asking for compact peer lists (BEP 23) and reading `peers6` (BEP 7). */
export class HttpTracker implements Tracker {
  readonly url: string
  private readonly timeoutMs: number
  private readonly maxBytes: number
  private readonly maxRedirects: number

  constructor (url: string, opts: HttpTrackerOptions = {}) {
    this.url = url
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS
    this.maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS
  }

  async announce (req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse> {
    try {
      const res = await httpGet(announceUrl(this.url, req), { timeoutMs: this.timeoutMs, maxBytes: this.maxBytes, maxRedirects: this.maxRedirects, signal })
      return parseAnnounceResponse(res.body, res.status)
    } catch (err) {
      throw new TrackerError(`${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
  }

  close (): void {}
}

/**
 * The announce GET (BEP 3): `info_hash` and `peer_id` are the raw 20 bytes, percent-encoded byte
 * by byte; `compact=1` asks for BEP 23 lists; `event` is omitted for a regular re-announce.
 */
export function announceUrl (base: string, req: AnnounceRequest): string {
  const params: [string, string][] = [
    ['info_hash', percentEncodeBytes(req.infoHash)],
    ['peer_id', percentEncodeBytes(req.peerId)],
    ['port', String(req.port)],
    ['uploaded', String(req.uploaded)],
    ['downloaded', String(req.downloaded)],
    ['left', String(req.left)],
    ['compact', '1'],
    ['numwant', String(req.numwant < 0 ? 50 : req.numwant)],
    ['key', (req.key >>> 0).toString(16).padStart(8, '0')]
  ]
  if (req.event !== undefined) params.push(['event', req.event])
  if (req.trackerId !== undefined) params.push(['trackerid', percentEncodeBytes(req.trackerId)])
  const query = params.map(([k, v]) => `${k}=${v}`).join('&')
  const hash = base.indexOf('#')
  const url = hash === -1 ? base : base.slice(0, hash)
  return url + (url.includes('?') ? '&' : '?') + query
}

/** RFC 3986 unreserved bytes stay as they are; every other byte becomes `%XX`. */
export function percentEncodeBytes (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/**
 * Reads a bencoded announce answer: `failure reason` rejects; otherwise `interval`,
 * `min interval`, `tracker id`, `complete`, `incomplete`, `warning message`, `peers` (a compact
 * string or a list of `{ip, port}` dictionaries) and `peers6`.
 */
export function parseAnnounceResponse (body: Uint8Array, status = 200): AnnounceResponse {
  // decodeBencodePrefix scans first (bounded, constant stack): the `bencode` package alone loops
  // for ever on a negative string length such as `d5:peersl-3:ee`. Bytes after the dictionary
  // (a newline some trackers print) are ignored, as other clients do.
  let dict: unknown
  let trailingBody = 0
  let invalidBencoding: string | undefined
  try {
    const decoded = body.length === 0 ? undefined : decodeBencodePrefix(body)
    dict = decoded?.value
    trailingBody = decoded === undefined ? 0 : body.length - decoded.length
  } catch (err) {
    invalidBencoding = err instanceof Error ? err.message : String(err)
  }
  if (!isDict(dict)) {
    const what = status !== 200 ? `HTTP ${status}` : 'response is not a bencoded dictionary'
    throw new TrackerError(`${what} (${describeBody(body)})${invalidBencoding === undefined ? '' : `: ${invalidBencoding}`}`)
  }
  const failure = dict['failure reason']
  if (failure !== undefined) throw new TrackerError(`failure reason: ${text(failure).slice(0, 300)}`)
  if (status !== 200) throw new TrackerError(`HTTP ${status}`)

  const warnings: string[] = []
  const warning = dict['warning message']
  if (warning !== undefined) warnings.push(`warning message: ${text(warning).slice(0, 300)}`)
  const interval = positiveInt(dict.interval)
  if (interval === undefined) warnings.push(`no valid interval, using ${FALLBACK_INTERVAL_S} s`)
  if (trailingBody > 0) warnings.push(`ignored ${trailingBody} bytes after the bencoded answer`)
  // At most MAX_PEERS_PER_ANNOUNCE peers, IPv4 first, then IPv6 in what room is left. Lists are
  // joined with concat, never spread into push(): 170 000 arguments overflow the stack.
  let peers: PeerAddress[] = []
  let invalid = 0
  let trailing = 0
  let overLimit = 0
  const addCompact = (value: Uint8Array, family: 4 | 6): void => {
    const r = decodeCompactPeers(value, family, MAX_PEERS_PER_ANNOUNCE - peers.length)
    peers = peers.length === 0 ? r.peers : peers.concat(r.peers)
    invalid += r.invalid
    trailing += r.trailingBytes
    overLimit += r.overLimit
  }
  if (dict.peers instanceof Uint8Array) addCompact(dict.peers, 4)
  else if (Array.isArray(dict.peers)) {
    for (const entry of dict.peers) {
      if (peers.length >= MAX_PEERS_PER_ANNOUNCE) { overLimit++; continue }
      const peer = isDict(entry) && entry.ip instanceof Uint8Array && typeof entry.port === 'number'
        ? validPeer(text(entry.ip), entry.port)
        : undefined
      if (peer === undefined) invalid++
      else peers.push(peer)
    }
  } else if (dict.peers !== undefined) throw new TrackerError('"peers" is neither a string nor a list')
  if (dict.peers6 instanceof Uint8Array) addCompact(dict.peers6, 6)
  if (invalid > 0) warnings.push(`dropped ${invalid} invalid peer entr${invalid === 1 ? 'y' : 'ies'}`)
  if (trailing > 0) warnings.push(`ignored ${trailing} trailing bytes of a truncated compact peer list`)
  if (overLimit > 0) warnings.push(overLimitWarning(peers.length, overLimit))

  const trackerId = dict['tracker id']
  return {
    interval: interval ?? FALLBACK_INTERVAL_S,
    peers,
    warnings,
    ...optional('minInterval', positiveInt(dict['min interval'])),
    ...optional('complete', nonNegativeInt(dict.complete)),
    ...optional('incomplete', nonNegativeInt(dict.incomplete)),
    ...(trackerId instanceof Uint8Array && trackerId.length > 0 && trackerId.length <= 256 ? { trackerId } : {})
  }
}

type Dict = Record<string, unknown>

function isDict (v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function text (v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?')
  return String(v)
}

function positiveInt (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined
}

function nonNegativeInt (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined
}

function optional<K extends string> (key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number }
}

/** The start of a body that is not what we asked for: enough to recognise an HTML page. */
function describeBody (body: Uint8Array): string {
  if (body.length === 0) return 'empty body'
  const head = Buffer.from(body.subarray(0, 60)).toString('latin1').replace(/[^\x20-\x7e]/g, '.')
  return `${body.length} bytes starting "${head}"`
}
