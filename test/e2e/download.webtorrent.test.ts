/**
 * End to end: our download against seeders no one here wrote (webtorrent), found through a real
 * tracker (bittorrent-tracker), all on loopback. Output must be byte-identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { download } from '../../lib/session/download.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { startLocalSwarm } from './local-swarm.js'
import { collect } from '../helpers.js'


test('single file from three webtorrent seeders via the tracker; piece size does not divide the file', async () => {
  const data = seededBytes(5 * 1024 * 1024 + 12345, 1)
  const swarm = await startLocalSwarm([{ name: 'movie.bin', data }], { seeders: 3, pieceLength: 256 * 1024 })
  try {
    assert.notEqual(swarm.meta.lastPieceLength, swarm.meta.pieceLength)
    const stream = download(swarm.meta, { stallTimeoutMs: 30_000 })
    const out = await collect(stream)
    assert.ok(out.equals(data), 'byte-identical')
    await stream.stopped
  } finally {
    await swarm.close()
  }
})

test('--file picks one file of a multi-file torrent; only the pieces it needs are fetched', async () => {
  const files = [
    { name: 'a.bin', data: seededBytes(300_000, 2) },
    { name: 'b.bin', data: seededBytes(1_000_003, 3) },
    { name: 'c.bin', data: seededBytes(700_000, 4) }
  ]
  const swarm = await startLocalSwarm(files, { seeders: 2, pieceLength: 64 * 1024, name: 'album' })
  try {
    const index = swarm.meta.files.findIndex(f => f.path.endsWith('b.bin'))
    assert.notEqual(index, -1)
    const stream = download(swarm.meta, { file: index, stallTimeoutMs: 30_000 })
    const out = await collect(stream)
    assert.ok(out.equals(files[1]!.data), 'byte-identical to b.bin')
    const f = swarm.meta.files[index]!
    const needed = Math.floor((f.offset + f.length - 1) / swarm.meta.pieceLength) - Math.floor(f.offset / swarm.meta.pieceLength) + 1
    assert.equal(stream.progress.verified, needed * swarm.meta.pieceLength, 'no piece outside the file was fetched')
    await stream.stopped
  } finally {
    await swarm.close()
  }
})

test('a download much larger than the window holds at most the window in the merger', async () => {
  const data = seededBytes(24 * 1024 * 1024, 5)
  const swarm = await startLocalSwarm([{ name: 'big.bin', data }], { seeders: 2, pieceLength: 256 * 1024 })
  try {
    const windowBytes = 2 * 1024 * 1024
    const stream = download(swarm.meta, { windowBytes, stallTimeoutMs: 30_000 })
    // A slow reader: one chunk per tick.
    const parts: Buffer[] = []
    for await (const c of stream) {
      parts.push(Buffer.from(c as Uint8Array))
      await new Promise(resolve => setImmediate(resolve))
    }
    assert.ok(Buffer.concat(parts).equals(data))
    assert.ok(stream.merger.peakHeldBytes <= windowBytes, `peak held ${stream.merger.peakHeldBytes} > window ${windowBytes}`)
    assert.ok(stream.merger.peakHeldBytes > 0)
    await stream.stopped
  } finally {
    await swarm.close()
  }
})
