/**
 * Every exit message names the true cause (issue 11): a tracker that hands us our own address is
 * not a peer that sent bad data, and a tracker that refuses us is not "no peers".
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../lib/cli/main.js'
import { fakeIO, tempDir } from '../helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startRealTracker } from '../tracker/helpers.js'

test('-o with no other peer: the tracker returns only our own address, and the message says so, not "bad data"', async () => {
  const tracker = await startRealTracker('127.0.0.1')
  const { dir, remove } = tempDir('bt-exit-')
  try {
    const made = makeTorrent({ length: 100_000, pieceLength: 16384, announce: tracker.httpUrl })
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const io = fakeIO()
    const started = Date.now()
    const code = await main([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--no-dht', '--stall-timeout', '3'], io)
    assert.equal(code, 1)
    const err = io.err()
    assert.doesNotMatch(err, /bad data|banned/, err)
    // Our own address is not a peer: the download waited for the stall timeout, for real peers.
    assert.ok(Date.now() - started >= 2500, `gave up after ${Date.now() - started} ms: ${err}`)
    assert.match(err, /^bt-stream: no peers found within 3 s \(the trackers returned only our own address\)/m)
  } finally {
    remove()
    await tracker.close()
  }
})

test('to stdout with no other peer: our own announce handed back is not "1 peer refused the connection"', async () => {
  const tracker = await startRealTracker('127.0.0.1')
  const { dir, remove } = tempDir('bt-exit-')
  try {
    const made = makeTorrent({ length: 100_000, pieceLength: 16384, announce: tracker.httpUrl })
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const io = fakeIO()
    assert.equal(await main([join(dir, 'x.torrent'), '--no-dht', '--stall-timeout', '3'], io), 1)
    assert.equal(io.err(), 'bt-stream: no peers found within 3 s (the trackers returned only our own address)\n')
  } finally {
    remove()
    await tracker.close()
  }
})
