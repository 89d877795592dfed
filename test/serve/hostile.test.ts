/**
 * What a broken or hostile HTTP client can cost `serve` (issue 15: "bad requests get an HTTP
 * error or a bounded wait, never a crash"): garbage, oversized headers, slow headers, a flood of
 * connections, odd paths. After each, the server still answers.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { get, seedMade, serveFrom } from './helpers.js'

const KiB = 1024

/** Sends `bytes` on a fresh connection; resolves with what came back before the server closed it. */
async function raw (port: number, bytes: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes))
    let got = ''
    s.on('data', (c: Buffer) => { got += c.toString('latin1') })
    s.on('close', () => resolve(got))
    s.on('error', reject)
  })
}

test('garbage, an oversized header, odd paths and methods get 4xx answers; the server keeps serving', async (t) => {
  const made = makeTorrent({ length: 64 * KiB, pieceLength: 16 * KiB, name: 'x.mp4' })
  const peer = await seedMade(t, made)
  const { url, server } = await serveFrom(t, made.meta, [peer])
  assert.match(await within(10_000, 'garbage', raw(server.port, 'GARBAGE \x00\x01\r\n\r\n')), /^HTTP\/1\.1 400/)
  assert.match(await within(10_000, 'huge header', raw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20 * KiB)}\r\n\r\n`)), /^HTTP\/1\.1 431/)
  for (const path of ['/../../etc/passwd', '/0/../../x', '/%zz', '/-1', '/99999999999', '/0/a/b', '/1']) {
    assert.equal((await get(url + path)).status, 404, path)
  }
  assert.equal((await get(`${url}/`, {}, 'DELETE')).status, 405)
  assert.equal((await get(`${url}/`, { Host: 'evil.example' })).status, 403, 'DNS rebinding: a foreign Host on a loopback server')
  const ok = await get(`${url}/0`)
  assert.equal(ok.status, 200)
  assert.ok(ok.body.equals(made.data))
})

test('a client that never finishes its headers is cut off after the headers timeout', async (t) => {
  const made = makeTorrent({ length: 16 * KiB, pieceLength: 16 * KiB, name: 'x.bin' })
  const peer = await seedMade(t, made)
  const { server } = await serveFrom(t, made.meta, [peer], { http: { headersTimeoutMs: 1000, requestTimeoutMs: 2000 } })
  const t0 = Date.now()
  const s = connect(server.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'))
  t.after(() => s.destroy())
  s.on('error', () => {})
  s.resume()
  await within(15_000, 'closed by the server', new Promise(resolve => s.on('close', resolve)))
  assert.ok(Date.now() - t0 >= 900, 'not before the timeout')
})

test('a flood of connections beyond maxConnections is dropped, and the server answers afterwards', async (t) => {
  const made = makeTorrent({ length: 16 * KiB, pieceLength: 16 * KiB, name: 'x.bin' })
  const peer = await seedMade(t, made)
  const { url, server } = await serveFrom(t, made.meta, [peer], { http: { maxConnections: 20 } })
  const sockets: Socket[] = []
  t.after(() => { for (const s of sockets) s.destroy() })
  await Promise.all(Array.from({ length: 400 }, async () => await new Promise<void>(resolve => {
    const s = connect(server.port, '127.0.0.1')
    sockets.push(s)
    s.on('error', () => resolve())
    s.on('connect', () => resolve())
  })))
  // Node closes what is over the cap as it accepts it.
  await new Promise(resolve => setTimeout(resolve, 300))
  const count = await new Promise<number>((resolve, reject) => server.server.getConnections((err, n) => err === null ? resolve(n) : reject(err)))
  assert.ok(count <= 20, `${count} connections held`)
  for (const s of sockets) s.destroy()
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal((await within(10_000, 'a request after the flood', get(`${url}/0`))).status, 200)
})
