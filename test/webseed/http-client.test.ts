/**
 * fetchRange on node:http with a keep-alive Agent: bodies framed by Content-Length or chunked
 * (RFC 9112), a body that arrives in pieces, keep-alive reuse, and a kept-alive connection the
 * server closed while it sat idle.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { once } from 'node:events'
import { fetchRange, WebSeedError, type Agents } from '../../lib/webseed/http-range.js'

const DATA = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff))

function transports (): Agents {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) }
}

function close (a: Agents): void {
  a.http.destroy()
  a.https.destroy()
}

/** The bytes of `start..end` of DATA as fetchRange hands them over (copied: a chunk is valid only during the call). */
async function fetchBytes (tr: Agents, url: string, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = []
  await fetchRange({ url, start, end, fileLength: DATA.length }, tr, new AbortController().signal, chunk => { parts.push(Buffer.from(chunk)) })
  return Buffer.concat(parts)
}

async function listen (server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as net.AddressInfo).port
}

function rangeOf (req: http.IncomingMessage): { start: number, end: number } {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!
  return { start: Number(m[1]), end: Number(m[2]) + 1 }
}

/** A server answering every range of DATA (206), counting its connections; closed after the test. */
async function rangeServer (t: { after: (fn: () => void) => void }): Promise<{ server: http.Server, url: string, tr: ReturnType<typeof transports>, connections: () => number }> {
  let connections = 0
  const server = http.createServer((req, res) => {
    const { start, end } = rangeOf(req)
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${DATA.length}`, 'Content-Length': end - start })
    res.end(DATA.subarray(start, end))
  })
  server.on('connection', () => { connections++ })
  const port = await listen(server)
  const tr = transports()
  t.after(() => { close(tr); server.closeAllConnections(); server.close() })
  return { server, url: `http://127.0.0.1:${port}/f`, tr, connections: () => connections }
}

test('RFC 9112 keep-alive: ranges one after another reuse one connection, each body exact', async (t) => {
  const { url, tr, connections } = await rangeServer(t)
  for (const [start, end] of [[0, 100_000], [100_000, 300_000], [5, 6]] as const) {
    assert.deepEqual(await fetchBytes(tr, url, start, end), DATA.subarray(start, end))
  }
  assert.equal(connections(), 1)
})

test('RFC 9112 chunked: a 206 sent with Transfer-Encoding: chunked is read (through node:http), bytes exact', async (t) => {
  const server = http.createServer((req, res) => {
    const { start, end } = rangeOf(req)
    // No Content-Length: node:http sends the body chunked.
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end - 1}/${DATA.length}` })
    res.write(DATA.subarray(start, start + 1000))
    res.end(DATA.subarray(start + 1000, end))
  })
  const port = await listen(server)
  const tr = transports()
  t.after(() => { close(tr); server.closeAllConnections(); server.close() })
  assert.deepEqual(await fetchBytes(tr, `http://127.0.0.1:${port}/f`, 10, 250_010), DATA.subarray(10, 250_010))
})

test('RFC 9112: a body that arrives in pieces (a few bytes, then a pause) is handed over in order, bytes exact', async (t) => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(socket => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', async (req) => {
      const m = /Range: bytes=(\d+)-(\d+)/i.exec(req.toString('latin1'))!
      const start = Number(m[1])
      const end = Number(m[2]) + 1
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end - 1}/${DATA.length}\r\nContent-Length: ${end - start}\r\n\r\n`, 'latin1')
      // Pieces of 1, 7, 1000 bytes (not a block's 16 KiB), each after a pause, then the rest.
      let at = start
      for (const n of [1, 7, 1000, 1, 5000]) {
        socket.write(DATA.subarray(at, at + n))
        at += n
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      socket.end(DATA.subarray(at, end))
    })
  })
  const port = await listen(server)
  const tr = transports()
  t.after(() => { close(tr); for (const s of sockets) s.destroy(); server.close() })
  assert.deepEqual(await fetchBytes(tr, `http://127.0.0.1:${port}/f`, 1000, 41_000), DATA.subarray(1000, 41_000))
})

for (const wait of [0, 100]) {
  test(`RFC 9112 keep-alive: a connection the server closed while idle is replaced, the request does not fail (next request ${wait} ms later)`, async (t) => {
    const { server, url, tr, connections } = await rangeServer(t)
    assert.deepEqual(await fetchBytes(tr, url, 0, 1000), DATA.subarray(0, 1000))
    // Once the response is out, the server closes the idle connection (its keep-alive timeout).
    await new Promise(resolve => setTimeout(resolve, 20))
    server.closeIdleConnections()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    assert.deepEqual(await fetchBytes(tr, url, 1000, 2000), DATA.subarray(1000, 2000))
    assert.equal(connections(), 2)
  })
}

test('a web seed nothing listens on: a transient failure whose reason names the system error once, in words', async (t) => {
  const server = net.createServer()
  const port = await listen(server)
  await new Promise(resolve => server.close(resolve))
  const tr = transports()
  t.after(() => { close(tr) })
  await assert.rejects(fetchBytes(tr, `http://127.0.0.1:${port}/f`, 0, 10), (err: unknown) => {
    assert.ok(err instanceof WebSeedError)
    assert.equal(err.kind, 'transient')
    assert.equal(err.message, 'connection refused (nothing listening there) (ECONNREFUSED)')
    return true
  })
})
