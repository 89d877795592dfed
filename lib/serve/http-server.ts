/**
 * The HTTP side of `bt-stream serve`: a torrent's files for media players and browsers.
 *
 *   GET /                 the files (HTML; JSON with `Accept: application/json`)
 *   GET /playlist.m3u     the media files as an M3U playlist with absolute URLs
 *   GET /<i>, /<i>/<name> file i: `Accept-Ranges: bytes`, 206 for a range, 416 for none that fits
 *   HEAD                  the same headers, no body, no reader
 *
 * Backpressure: each body is a range reader piped into the response (node's pipeline over the
 * reader's async iterator), so a player that stops reading stops the reader at one chunk, and a
 * player that hangs up destroys it, which frees its cursor in the piece picker.
 *
 * Bounds (what a hostile or broken client can cost): `maxReaders` bodies at once (then 503 with
 * Retry-After), `maxConnections` sockets (node drops the rest), headers within `maxHeaderSize`
 * bytes and `headersTimeoutMs`, a whole request within `requestTimeoutMs`, idle keep-alive sockets
 * closed after `keepAliveTimeoutMs`. Malformed requests get node's 400 and a closed socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pipeline } from 'node:stream'
import type { Metainfo } from '../metainfo/types.js'
import { contentType } from './content-type.js'
import { baseName, indexHtml, playlist, torrentIndex } from './index-page.js'
import { contentRange, parseRange, unsatisfiedRange } from './range.js'

/** What the server serves: a stream engine (lib/session/stream-engine.ts) fits. */
export interface ServedTorrent {
  readonly meta: Metainfo
  isWritten (index: number): boolean
  createReadStream (fileIndex: number, opts: { start: number, end: number }): AsyncIterable<unknown> & { destroy (err?: Error): void }
}

export interface HttpServeOptions {
  /** Address to bind (default 127.0.0.1: a local player; anything else shares the torrent). */
  readonly host?: string
  /** Port (default 0: any free one). */
  readonly port?: number
  readonly maxReaders?: number
  readonly maxConnections?: number
  readonly headersTimeoutMs?: number
  readonly requestTimeoutMs?: number
  readonly keepAliveTimeoutMs?: number
  readonly maxHeaderSize?: number
}

export interface TorrentServer {
  readonly server: Server
  /** `http://host:port`, for the stderr line, the playlist and `--open`. */
  readonly url: string
  readonly port: number
  /** Response bodies being sent now. */
  readonly activeReaders: number
  close (): Promise<void>
}

/**
 * Bodies at once. Each holds a cursor (urgent pieces, a window) and one chunk: 16 is several
 * players each with the two or three connections they open while probing and seeking.
 */
export const DEFAULT_MAX_READERS = 16
/** Sockets at once: far above what players open, far below what exhausts file descriptors. */
export const DEFAULT_MAX_CONNECTIONS = 256
/** A client has this long to send its headers (slowloris), and this long for the whole request. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000
/** Players send a few hundred bytes of headers; 16 KiB is node's own default. */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024
/** How often the header and request timeouts are checked: a fraction of the shortest. */
const CHECK_TIMEOUTS_MS = 1000
/** What a 503 tells a client to wait before it tries again (seconds). */
const RETRY_AFTER_S = 1

export async function startTorrentServer (torrent: ServedTorrent, opts: HttpServeOptions = {}): Promise<TorrentServer> {
  const host = opts.host ?? '127.0.0.1'
  const maxReaders = opts.maxReaders ?? DEFAULT_MAX_READERS
  let readers = 0
  let base = ''
  const server = createServer({
    headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    // Node looks at the two timeouts above only this often (its default is 30 s).
    connectionsCheckingInterval: CHECK_TIMEOUTS_MS
  }, (req, res) => {
    // A GET with a body: drain it so the connection can carry the next request.
    req.resume()
    try {
      route(req, res)
    } catch (err) {
      // A bug here must cost one response, never the process.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`)
      else res.destroy()
    }
  })
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    if (!hostAllowed(req.headers.host, host)) { send(res, 403, 'text/plain; charset=utf-8', 'forbidden: unexpected Host header\n'); return }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n')
      return
    }
    const path = (req.url ?? '').split('?')[0]!
    if (path === '/' || path === '') { serveIndex(req, res); return }
    if (path === '/playlist.m3u') {
      const index = torrentIndex(torrent.meta, i => torrent.isWritten(i))
      send(res, 200, 'audio/x-mpegurl; charset=utf-8', playlist(index, baseUrl(req)), req.method === 'HEAD')
      return
    }
    const m = /^\/([0-9]{1,9})(?:\/[^/]*)?$/.exec(path)
    const fileIndex = m === null ? -1 : Number(m[1])
    const file = torrent.meta.files[fileIndex]
    if (file === undefined || file.padding) { send(res, 404, 'text/plain; charset=utf-8', 'no such file\n'); return }
    serveFile(req, res, fileIndex, file.path, file.length)
  }

  const serveIndex = (req: IncomingMessage, res: ServerResponse): void => {
    const index = torrentIndex(torrent.meta, i => torrent.isWritten(i))
    res.setHeader('Vary', 'Accept')
    if (/\bapplication\/json\b/.test(req.headers.accept ?? '')) {
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(index) + '\n', req.method === 'HEAD')
    } else {
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
      send(res, 200, 'text/html; charset=utf-8', indexHtml(index), req.method === 'HEAD')
    }
  }

  const serveFile = (req: IncomingMessage, res: ServerResponse, fileIndex: number, path: string, length: number): void => {
    // A torrent's file never changes (its pieces are checked against their SHA-1): a strong tag.
    const etag = `"${torrent.meta.infoHashHex}-${fileIndex}"`
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('ETag', etag)
    res.setHeader('Content-Type', contentType(path))
    res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(baseName(path))}`)
    let range = parseRange(req.headers.range, length)
    // RFC 9110 13.1.5: a Range with an If-Range that does not match gets the whole file.
    const ifRange = req.headers['if-range']
    if (ifRange !== undefined && ifRange !== etag) range = { type: 'full' }
    if (range.type === 'unsatisfiable') {
      res.setHeader('Content-Range', unsatisfiedRange(length))
      send(res, 416, 'text/plain; charset=utf-8', 'range not satisfiable\n', req.method === 'HEAD')
      return
    }
    const start = range.type === 'partial' ? range.start : 0
    const end = range.type === 'partial' ? range.end : length
    if (req.method === 'GET' && end > start && readers >= maxReaders) {
      res.setHeader('Retry-After', String(RETRY_AFTER_S))
      send(res, 503, 'text/plain; charset=utf-8', `too many readers (${maxReaders})\n`)
      return
    }
    res.statusCode = range.type === 'partial' ? 206 : 200
    if (range.type === 'partial') res.setHeader('Content-Range', contentRange(start, end, length))
    res.setHeader('Content-Length', String(end - start))
    if (req.method === 'HEAD' || end === start) { res.end(); return }
    const reader = torrent.createReadStream(fileIndex, { start, end })
    readers++
    pipeline(reader, res, () => {
      // Ended, failed, or the client hung up: either way the reader and its cursor go.
      readers--
      reader.destroy()
    })
  }

  const baseUrl = (req: IncomingMessage): string => {
    const h = req.headers.host
    return h !== undefined && /^[A-Za-z0-9.\-:[\]]+$/.test(h) ? `http://${h}` : base
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closing: Promise<void> | undefined
  return {
    server,
    url: base,
    port,
    get activeReaders () { return readers },
    close: () => (closing ??= new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    }))
  }
}

function send (res: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  res.statusCode = status
  res.setHeader('Content-Type', type)
  res.setHeader('Content-Length', String(Buffer.byteLength(body)))
  res.end(headOnly ? undefined : body)
}

const LOOPBACK = /^(?:localhost|127(?:\.[0-9]{1,3}){3}|\[::1\])(?::[0-9]{1,5})?$/i

/**
 * DNS rebinding: a web page may point its own name at 127.0.0.1 and read our loopback server
 * from the browser. Bound to loopback, we answer only Host names that are loopback themselves
 * (a request without Host, HTTP/1.0, is let through: no browser sends one).
 */
function hostAllowed (hostHeader: string | undefined, bound: string): boolean {
  if (hostHeader === undefined) return true
  const loopbackBound = bound === 'localhost' || bound === '::1' || bound.startsWith('127.')
  return !loopbackBound || LOOPBACK.test(hostHeader)
}
