/**
 * BEP 3 announce while a magnet's metadata is fetched: the tracker hears the port the download
 * will listen on, and a `left` that is not 0 (0 says "seed": others would dial us for pieces).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { parseMagnet } from '../../lib/magnet/parse.js'

test('magnet metadata fetch: the announce carries our port and left > 0', async (t) => {
  const queries: URLSearchParams[] = []
  const server = http.createServer((req, res) => {
    queries.push(new URL(req.url ?? '/', 'http://x').searchParams)
    // No peers: d8:intervali1800e5:peers0:e
    res.end('d8:intervali1800e5:peers0:e')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const magnet = parseMagnet(`magnet:?xt=urn:btih:${'ab'.repeat(20)}&tr=${encodeURIComponent(`http://127.0.0.1:${port}/announce`)}`)
  await assert.rejects(fetchMagnetMetadata(magnet, { port: 7777, dht: false, timeoutMs: 1500 }))
  const started = queries.find(q => q.get('event') === 'started')
  assert.ok(started !== undefined, `an announce reached the tracker (${queries.length})`)
  assert.equal(started.get('port'), '7777')
  assert.notEqual(started.get('left'), '0')
})
