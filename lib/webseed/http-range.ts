/**
 * One HTTP range request to a web seed (BEP 19), on Node's own client (node:http / node:https
 * with the caller's keep-alive agents): `GET` with `Range: bytes=a-b`, redirects followed (a
 * bounded number), and the answer checked before a byte of its body is read. Body chunks go to the
 * caller as node:http delivers them (each a buffer of its own), no copy here; bytes past the range
 * are never handed over. What can go wrong is sorted into kinds the caller acts on:
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
import { BtStreamError, describeSystemError } from '../util/errors.js'

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

/** Where a range's body bytes go, in order. A chunk is valid only during the call (the caller copies what it keeps). */
export type OnBodyChunk = (chunk: Buffer) => void

/**
 * Fetches bytes `start..end` of the file into `onChunk`, in order, and resolves with the URL that
 * answered (after redirects), for the next request of the same file. Rejects with a WebSeedError
 * (or `signal`'s reason when aborted); the status and headers are checked before a byte of the
 * body is read, and bytes past the range are never handed over.
 */
export async function fetchRange (r: RangeRequest, agents: Agents, signal: AbortSignal, onChunk: OnBodyChunk): Promise<string> {
  let url = r.url
  const headers = { Range: `bytes=${r.start}-${r.end - 1}`, ...HEADERS }
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await answer(url, headers, agents, signal)
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && status !== 304 && res.headers.location !== undefined) {
      // Its body is not read: the connection goes (a redirect is once per file and URL).
      res.destroy()
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
    await readBody(res, r.end - r.start, signal, onChunk)
    return url
  }
  throw new WebSeedError(`more than ${MAX_REDIRECTS} redirects`, 'fatal')
}

const HEADERS: Readonly<Record<string, string>> = { 'Accept-Encoding': 'identity', 'User-Agent': 'bt-stream' }

/**
 * The response to one GET (its head; the body not yet read). A request that fails before any
 * answer on a kept-alive socket the server had closed while it sat idle (its keep-alive timeout
 * and our reuse crossed) is sent again, as RFC 9112 9.3.1 allows for a GET: each such failure
 * costs the agent that dead socket, so this ends at the latest on a new connection, whose failure
 * is the server's.
 */
async function answer (url: string, headers: Readonly<Record<string, string>>, agents: Agents, signal: AbortSignal): Promise<http.IncomingMessage> {
  for (;;) {
    const r = await get(url, headers, agents, signal)
    if (r.res !== undefined) return r.res
    if (signal.aborted) throw signal.reason
    if (!r.reused) throw new WebSeedError(describeSystemError(r.err), 'transient', undefined, { cause: r.err })
  }
}

type Sent = { res: http.IncomingMessage, reused?: undefined, err?: undefined } | { res?: undefined, reused: boolean, err: Error }

function get (url: string, headers: Readonly<Record<string, string>>, agents: Agents, signal: AbortSignal): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    const options: http.RequestOptions = { agent: secure ? agents.https : agents.http, headers, signal }
    let req: http.ClientRequest
    try {
      req = secure ? https.get(url, options) : http.get(url, options)
    } catch (err) {
      reject(new WebSeedError(`bad URL ${url}`, 'fatal', undefined, { cause: err }))
      return
    }
    req.once('response', (res: http.IncomingMessage) => { resolve({ res }) })
    // 'on', not 'once': a socket error after the response (a cut body, seen by readBody) must not
    // go unhandled. Before it, the promise settles here (later calls are no-ops).
    req.on('error', err => { resolve({ reused: req.reusedSocket, err }) })
  })
}

/**
 * The body into `onChunk`: `length` bytes, each chunk handed over as node:http delivers it (its
 * own buffer, one per socket read: no copy here; a view when it runs past the range). A body
 * longer than the range closes the connection instead of reading the rest.
 */
function readBody (res: http.IncomingMessage, length: number, signal: AbortSignal, onChunk: OnBodyChunk): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0
    let settled = false
    const settle = (err?: unknown): void => {
      if (settled) return
      settled = true
      if (err === undefined) resolve()
      else reject(err)
    }
    const cut = (cause?: Error): void => {
      if (received === length) { settle(); return }
      if (signal.aborted) { settle(signal.reason); return }
      const why = cause === undefined ? '' : ` (${describeSystemError(cause)})`
      settle(new WebSeedError(`closed the body ${length - received} bytes short${why}`, 'transient', undefined, { cause }))
    }
    const onData = (chunk: Buffer): void => {
      // Bytes past the range (a chunked body that goes on): not read.
      if (received === length) { res.destroy(); return }
      const take = Math.min(chunk.length, length - received)
      received += take
      onChunk(take === chunk.length ? chunk : chunk.subarray(0, take))
      if (received === length) {
        // A longer body than the range is not read (and that connection not kept alive).
        if (chunk.length > take) res.destroy()
        settle()
      }
    }
    res.on('data', onData)
    res.once('end', () => { cut() })
    // 'on', not 'once': nothing a destroyed response emits may go unhandled.
    res.on('error', err => { cut(err) })
    res.once('close', () => { cut() })
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
