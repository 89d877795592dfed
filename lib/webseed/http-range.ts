/**
 * One HTTP range request to a web seed (BEP 19): `GET` with `Range: bytes=a-b`, redirects followed
 * (a bounded number), and the answer checked before a byte of its body is read. Plain http goes on
 * our own keep-alive connections (http1-pool.ts: one read buffer per socket, no allocation per
 * read); https, URLs with credentials, and answers our client does not frame (chunked) go on
 * node:http / node:https with the caller's keep-alive agents. What can go wrong is sorted into
 * kinds the caller acts on:
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
import { BodyCut, NoAnswer, PlainHttpUnsupported, type BodySink, type PlainHttpPool, type ResponseHead } from './http1-pool.js'

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

/** Where a range's body bytes go: valid only during the call (a reused read buffer may hold them). */
export type OnBodyChunk = (chunk: Buffer) => void

export interface Transports {
  /** node:https (and node:http where our own client cannot read an answer), keep-alive. */
  readonly agents: Agents
  /** Plain http: our own keep-alive connections (http1-pool.ts). */
  readonly plain: PlainHttpPool
}

/**
 * Fetches bytes `start..end` of the file into `onChunk`, in order, and resolves with the URL that
 * answered (after redirects), for the next request of the same file. Rejects with a WebSeedError
 * (or `signal`'s reason when aborted); the status and headers are checked before a byte of the
 * body is read, and bytes past the range are never read.
 */
export async function fetchRange (r: RangeRequest, transports: Transports, signal: AbortSignal, onChunk: OnBodyChunk): Promise<string> {
  let url = r.url
  let plain = true
  const headers = { Range: `bytes=${r.start}-${r.end - 1}`, ...HEADERS }
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let redirect: { status: number, location: string } | undefined
    let problem: WebSeedError | undefined
    let left = r.end - r.start
    const sink: BodySink = {
      onHead: head => {
        if (head.status >= 300 && head.status < 400 && head.status !== 304 && head.headers.location !== undefined) {
          redirect = { status: head.status, location: head.headers.location }
          return -1
        }
        problem = checkAnswer(head, r)
        // Not one byte of a wrong body is read: a server ignoring Range would send the whole file.
        return problem === undefined ? left : -1
      },
      onChunk: chunk => { left -= chunk.length; onChunk(chunk) }
    }
    const target = parseUrl(url)
    try {
      if (plain && target.protocol === 'http:' && target.username === '' && target.password === '') await transports.plain.get(target, headers, signal, sink)
      else await nodeGet(url, headers, transports.agents, signal, sink)
    } catch (err) {
      if (signal.aborted) throw signal.reason
      if (err instanceof PlainHttpUnsupported) {
        // Chunked, or framed by the close: node:http reads it (this request only, then ours again).
        if (left !== r.end - r.start) throw new WebSeedError(`closed the body ${left} bytes short`, 'transient', undefined, { cause: err })
        plain = false
        hop--
        continue
      }
      if (err instanceof WebSeedError) throw err
      if (err instanceof BodyCut || left !== r.end - r.start) throw new WebSeedError(`closed the body ${left} bytes short${err instanceof BodyCut && err.cause instanceof Error ? ` (${err.cause.message})` : ''}`, 'transient', undefined, { cause: err })
      const cause = err instanceof NoAnswer && err.cause instanceof Error ? err.cause : err
      throw new WebSeedError(cause instanceof Error ? describeNetError(cause) : String(cause), 'transient', undefined, { cause })
    }
    plain = true
    if (problem !== undefined) throw problem
    if (redirect !== undefined) {
      let next: URL
      try { next = new URL(redirect.location, url) } catch { throw new WebSeedError(`${redirect.status} redirect to an invalid URL`, 'fatal') }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new WebSeedError(`${redirect.status} redirect to ${next.protocol} URL`, 'fatal')
      url = next.toString()
      continue
    }
    if (left > 0) throw new WebSeedError(`closed the body ${left} bytes short`, 'transient')
    return url
  }
  throw new WebSeedError(`more than ${MAX_REDIRECTS} redirects`, 'fatal')
}

const HEADERS: Readonly<Record<string, string>> = { 'Accept-Encoding': 'identity', 'User-Agent': 'bt-stream' }

function parseUrl (url: string): URL {
  try { return new URL(url) } catch (err) { throw new WebSeedError(`bad URL ${url}`, 'fatal', undefined, { cause: err }) }
}

/** One GET on node:http / node:https, read into `sink` like the plain client does. */
function nodeGet (url: string, headers: Readonly<Record<string, string>>, agents: Agents, signal: AbortSignal, sink: BodySink): Promise<void> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    const options: http.RequestOptions = {
      agent: secure ? agents.https : agents.http,
      headers,
      signal
    }
    let req: http.ClientRequest
    try {
      req = secure ? https.get(url, options) : http.get(url, options)
    } catch (err) {
      reject(new WebSeedError(`bad URL ${url}`, 'fatal', undefined, { cause: err }))
      return
    }
    let received = 0
    let settled = false
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      if (err === undefined) resolve()
      else reject(err)
    }
    req.once('response', (res: http.IncomingMessage) => {
      const want = sink.onHead({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: flatHeaders(res.headers) })
      if (want <= 0) {
        res.destroy()
        finish()
        return
      }
      res.on('data', (chunk: Buffer) => {
        if (settled) return
        const take = Math.min(chunk.length, want - received)
        received += take
        sink.onChunk(take === chunk.length ? chunk : chunk.subarray(0, take))
        if (received === want) {
          // A longer body is not read (and the connection not kept alive).
          if (chunk.length > take) res.destroy()
          finish()
        }
      })
      res.once('end', () => { finish(received === want ? undefined : new BodyCut(received)) })
      res.once('error', err => { finish(received === want ? undefined : new BodyCut(received, { cause: err })) })
      res.once('close', () => { finish(received === want ? undefined : new BodyCut(received)) })
    })
    // 'on', not 'once': a socket error after the response (a cut body) must not go unhandled.
    req.on('error', err => { finish(signal.aborted ? err : received > 0 ? new BodyCut(received, { cause: err }) : new NoAnswer(err.message, { cause: err })) })
  })
}

function flatHeaders (h: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.join(', ') : v
  return out
}

/** Undefined when the answer is the range we asked for; the reason otherwise. */
function checkAnswer (res: ResponseHead, r: RangeRequest): WebSeedError | undefined {
  const status = res.status
  const statusText = `${status}${res.statusMessage === '' ? '' : ' ' + res.statusMessage}`
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
