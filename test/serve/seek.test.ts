/**
 * Seeking (issue 15): while a large file downloads slowly (seeders rate-limited), a range at 90%
 * of it moves the priority there: its first byte comes long before the download reaches it.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { test } from 'node:test'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { seedMade, serveFrom, until } from './helpers.js'

const MiB = 1024 * 1024

/** Issue 15's bound for the first byte after a seek, on loopback. */
const SEEK_FIRST_BYTE_MS = 3000

test('a seek to 90% of a 64 MiB file while the download is at ~10% gets its first byte within 3 s', async (t) => {
  const made = makeTorrent({ length: 64 * MiB, pieceLength: 256 * 1024, name: 'big.mkv' })
  // Two seeders at 1 MiB/s each: the whole file would take half a minute.
  const peers = [await seedMade(t, made, { maxUploadRate: MiB }), await seedMade(t, made, { maxUploadRate: MiB })]
  const { url, engine } = await serveFrom(t, made.meta, peers)
  const total = made.meta.pieceCount
  let written = 0
  engine.on('written', () => { written++ })
  await until(60_000, 'the download reaches 10%', () => written >= total / 10)
  const at = Math.floor(made.meta.length * 0.9)
  const t0 = Date.now()
  const { firstByteMs, fractionThen, body } = await new Promise<{ firstByteMs: number, fractionThen: number, body: Buffer }>((resolve, reject) => {
    const req = request(`${url}/0`, { headers: { Range: `bytes=${at}-${at + MiB - 1}` }, agent: false }, res => {
      const parts: Buffer[] = []
      let first = -1
      let fraction = 0
      res.on('data', (c: Buffer) => {
        if (first === -1) { first = Date.now() - t0; fraction = written / total }
        parts.push(c)
      })
      res.on('end', () => resolve({ firstByteMs: first, fractionThen: fraction, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  t.diagnostic(`first byte after ${firstByteMs} ms, download at ${(fractionThen * 100).toFixed(1)}%`)
  assert.ok(body.equals(made.data.subarray(at, at + MiB)))
  assert.ok(fractionThen < 0.5, `the download was at ${(fractionThen * 100).toFixed(1)}%: the seek was not served first`)
  assert.ok(firstByteMs < SEEK_FIRST_BYTE_MS, `first byte after ${firstByteMs} ms`)
})
