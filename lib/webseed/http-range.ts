/**
 * One HTTP range request to a web seed (BEP 19), on Node's own client (node:http / node:https with
 * the caller's keep-alive agents): `GET` with `Range: bytes=a-b`, redirects followed (a bounded
 * number), and the answer checked before a byte of its body is read. What can go wrong is sorted
 * into three kinds the caller acts on:
 *
 * - `fatal`: the URL cannot serve this torrent (4xx, a server that ignores Range and answers 200
 *   with the whole file, a file of another size, a compressed body, a redirect loop): the web seed
 *   is dropped.
 * - `missing`: 404 or 410: this file is not there (a mirror of part of a multi-file torrent).
 * - `busy`: 503 with Retry-After: wait that long, then ask again (BEP 19: "A client does not need
 *   to discard a HTTP or FTP server URL if it gets a busy reply").
 * - `transient`: other 5xx, a connection error, a timeout, a body cut short: try again, backing off.
 */
import http from 'node:http'
import https from 'node:https'
import { BtStreamError } from '../util/errors.js'

/** Redirects followed for one request (curl's default is 50; mirrors use one or two). */
const MAX_REDIRECTS = 5

export type WebSeedFailure = 'fatal' | 'missing' | 'busy' | 'transient'

/** What went wrong with a web seed, and what to do about it. */
export class WebSeedError extends BtStreamError {
  readonly kind: WebSeedFailure
  /** `busy`: how long the server asked us to wait (Retry-After). */
  readonly retryAfterMs: number | undefined
  /** `missing`: the torrent's file that is not there (set by the caller, who knows it). */
  fileIndex: number | undefined

  constructor (message: string, kind: WebSeedFailure, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
    this.retryAfterMs = retryAfterMs
  }
}

export interface Agents {
  readonly http: http.Agent
  readonly https: https.Agent
}

export interface RangeRequest {
  readonly url: string
  /** Byte range of the file, `end` exclusive. */
  readonly start: number
  readonly end: number
  /** The file's length in the torrent: the server's must match. */
  readonly fileLength: number
}

export interface OpenedRange {
  readonly body: http.IncomingMessage
  /** The URL that answered (after redirects), for the next request of the same file. */
  readonly url: string
}

/**
 * Sends the request and resolves with the response once its status and headers say the body is
 * exactly bytes `start..end` of the file. Rejects with a WebSeedError; `signal` aborts.
 */
export async function openRange (r: RangeRequest, agents: Agents, signal: AbortSignal): Promise<OpenedRange> {
  let url = r.url
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await get(url, r, agents, signal)
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && status !== 304 && res.headers.location !== undefined) {
      res.resume()
      let next: URL
      try { next = new URL(res.headers.location, url) } catch { throw new WebSeedError(`${status} redirect to an invalid URL`, 'fatal') }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new WebSeedError(`${status} redirect to ${next.protocol} URL`, 'fatal')
      url = next.toString()
      continue
    }
    const problem = checkAnswer(res, r)
    if (problem !== undefined) {
      // Not one byte of a wrong body is read: a server ignoring Range would send the whole file.
      res.destroy()
      throw problem
    }
    return { body: res, url }
  }
  throw new WebSeedError(`more than ${MAX_REDIRECTS} redirects`, 'fatal')
}

function get (url: string, r: RangeRequest, agents: Agents, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    const options: http.RequestOptions = {
      agent: secure ? agents.https : agents.http,
      headers: { Range: `bytes=${r.start}-${r.end - 1}`, 'Accept-Encoding': 'identity', 'User-Agent': 'bt-stream' },
      signal
    }
    let req: http.ClientRequest
    try {
      req = secure ? https.get(url, options) : http.get(url, options)
    } catch (err) {
      reject(new WebSeedError(`bad URL ${url}`, 'fatal', undefined, { cause: err }))
      return
    }
    req.once('response', resolve)
    // 'on', not 'once': a socket error after the response (a cut body) must not go unhandled.
    req.on('error', err => { reject(signal.aborted ? err : new WebSeedError(describeNetError(err), 'transient', undefined, { cause: err })) })
  })
}

/** Undefined when the answer is the range we asked for; the reason otherwise. */
function checkAnswer (res: http.IncomingMessage, r: RangeRequest): WebSeedError | undefined {
  const status = res.statusCode ?? 0
  const statusText = `${status}${res.statusMessage === undefined || res.statusMessage === '' ? '' : ' ' + res.statusMessage}`
  if (status === 503) {
    const after = retryAfterMs(res.headers['retry-after'])
    return after === undefined
      ? new WebSeedError(`answered ${statusText}`, 'transient')
      : new WebSeedError(`busy (${statusText}, Retry-After ${Math.ceil(after / 1000)} s)`, 'busy', after)
  }
  if (status >= 500) return new WebSeedError(`answered ${statusText}`, 'transient')
  if (status === 404 || status === 410) return new WebSeedError(`answered ${statusText}`, 'missing')
  if (status !== 200 && status !== 206) return new WebSeedError(`answered ${statusText}`, 'fatal')
  const encoding = res.headers['content-encoding']
  if (encoding !== undefined && encoding !== 'identity') return new WebSeedError(`sent a ${encoding}-encoded body`, 'fatal')
  const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length'])
  if (status === 200) {
    // A 200 is the whole file: right only when the whole file is what we asked for.
    if (r.start !== 0 || r.end !== r.fileLength) return new WebSeedError('ignores Range requests (answered 200 with the whole file)', 'fatal')
    if (length !== undefined && length !== r.fileLength) return new WebSeedError(`serves a file of ${length} bytes, the torrent's has ${r.fileLength}`, 'fatal')
    return undefined
  }
  const range = parseContentRange(res.headers['content-range'])
  if (range !== undefined) {
    if (range.total !== undefined && range.total !== r.fileLength) return new WebSeedError(`serves a file of ${range.total} bytes, the torrent's has ${r.fileLength}`, 'fatal')
    if (range.start !== r.start || range.end !== r.end) return new WebSeedError(`answered bytes ${range.start}-${range.end - 1} for bytes ${r.start}-${r.end - 1}`, 'fatal')
  }
  if (length !== undefined && length !== r.end - r.start) return new WebSeedError(`answered ${length} bytes for a range of ${r.end - r.start}`, 'fatal')
  return undefined
}

/** `bytes 0-99/1000` (RFC 9110 14.4); `end` exclusive; `total` undefined for `*`. */
export function parseContentRange (v: string | undefined): { start: number, end: number, total: number | undefined } | undefined {
  const m = v === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim())
  if (m === null) return undefined
  return { start: Number(m[1]), end: Number(m[2]) + 1, total: m[3] === '*' ? undefined : Number(m[3]) }
}

/** Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP date. Undefined when absent or unreadable. */
export function retryAfterMs (v: string | undefined, now: number = Date.now()): number | undefined {
  if (v === undefined) return undefined
  const s = v.trim()
  if (/^\d+$/.test(s)) return Number(s) * 1000
  const at = Date.parse(s)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function describeNetError (err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  return code === undefined ? err.message : `${code}: ${err.message}`
}
