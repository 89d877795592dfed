/**
 * A web server written for the tests (node:http on 127.0.0.1) that serves files with single byte
 * ranges (RFC 9110 14.2), and misbehaves on purpose: ignores Range, answers 503 with Retry-After,
 * closes mid-body, corrupts bytes, or answers 404.
 */
import type { Metainfo } from '../../lib/metainfo/types.js'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { Socket } from 'node:net'

export type ServerBehaviour =
  | { kind: 'honest' }
  /** Answers every request 200 with the whole file. */
  | { kind: 'ignore-range' }
  /** The first `times` requests get 503 with `Retry-After: seconds`. */
  | { kind: 'busy', times: number, seconds: number }
  /** The first `times` responses send half their body, then the connection is cut. */
  | { kind: 'cut', times: number }
  /** Flips the first byte of every body: a lying web seed. */
  | { kind: 'corrupt' }
  | { kind: 'not-found' }
  /** Sends each body 1 KiB per `delayMs`: a server with a thin line. */
  | { kind: 'slow', delayMs: number }

export interface RangeServer {
  /** `http://127.0.0.1:PORT/` */
  readonly base: string
  /** Every request: path and Range header, in order of arrival. */
  readonly requests: Array<{ path: string, range: string | undefined, status: number, at: number }>
  /** TCP connections accepted (keep-alive reuses them). */
  readonly connections: () => number
  close (): Promise<void>
}

/** Serves `files` (URL path, e.g. `/dir/a%20b.bin`, to bytes). */
export async function startRangeServer (files: ReadonlyMap<string, Uint8Array>, behaviour: ServerBehaviour = { kind: 'honest' }): Promise<RangeServer> {
  const requests: RangeServer['requests'] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let connections = 0
  let busy = behaviour.kind === 'busy' ? behaviour.times : 0
  let cuts = behaviour.kind === 'cut' ? behaviour.times : 0

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!
    const range = req.headers.range
    const answer = (status: number): void => { requests.push({ path, range, status, at: Date.now() }) }
    const data = files.get(path)
    if (data === undefined || behaviour.kind === 'not-found') { answer(404); res.writeHead(404).end('not here'); return }
    if (busy > 0) { busy--; answer(503); res.writeHead(503, { 'Retry-After': String((behaviour as { seconds: number }).seconds) }).end(); return }
    const m = range === undefined ? null : /^bytes=(\d+)-(\d+)?$/.exec(range)
    if (m === null || behaviour.kind === 'ignore-range') {
      answer(200)
      res.writeHead(200, { 'Content-Length': data.length })
      res.end(data)
      return
    }
    const start = Number(m[1])
    const end = m[2] === undefined ? data.length - 1 : Math.min(Number(m[2]), data.length - 1)
    if (start > end || start >= data.length) { answer(416); res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end(); return }
    const body = Buffer.from(data.subarray(start, end + 1))
    if (behaviour.kind === 'corrupt') body[0] = body[0]! ^ 0xff
    answer(206)
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': body.length, 'Accept-Ranges': 'bytes' })
    if (cuts > 0 && body.length > 1) {
      cuts--
      res.write(body.subarray(0, body.length >> 1), () => { res.socket?.destroy() })
      return
    }
    if (behaviour.kind === 'slow') {
      let at = 0
      const timer = setInterval(() => {
        if (res.destroyed || at >= body.length) { clearInterval(timer); res.end(); return }
        res.write(body.subarray(at, at += 1024))
      }, behaviour.delayMs)
      timers.add(timer)
      res.on('close', () => { clearInterval(timer); timers.delete(timer) })
      return
    }
    res.end(body)
  }

  const server: Server = createServer(handle)
  server.on('connection', s => { connections++; sockets.add(s); s.on('close', () => sockets.delete(s)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  return {
    base: `http://127.0.0.1:${port}/`,
    requests,
    connections: () => connections,
    async close () {
      for (const timer of timers) clearInterval(timer)
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** The torrent with these BEP 19 web seeds (its `url-list`). */
export function withWebSeeds (meta: Metainfo, urls: string[]): Metainfo {
  return { ...meta, urlList: urls }
}
