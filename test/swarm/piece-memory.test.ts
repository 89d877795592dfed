/**
 * Piece memory is reused, not re-allocated: once the output has read a verified piece (stdout) or
 * the file holds it (-o: test/storage/disk-sink), its buffer carries the next piece. So what a download allocates is
 * bounded by its window, not its length, and no forced GC is needed to keep memory flat.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { download } from '../../lib/session/download.js'
import { startFakeSeeder } from './fake-seeder.js'
import { makeTorrent } from './fixture-torrent.js'
import { collect } from '../helpers.js'
import { within } from '../wire/helpers.js'

const PIECE = 64 * 1024
const PIECES = 128

test('stdout: a download of 128 pieces through an 8-piece window allocates about a window of piece buffers', async (t) => {
  const made = makeTorrent({ length: PIECES * PIECE - 100, pieceLength: PIECE })
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(async () => { await seeder.close() })
  const stream = download(made.meta, { peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 8 * PIECE })
  const out = await within(30_000, 'the download', collect(stream))
  assert.ok(out.equals(made.data), 'byte-identical')
  const { allocated, reused } = stream.swarm.pieceBuffers
  assert.ok(allocated <= 2 * 8, `allocated ${allocated} piece buffers for an 8-piece window`)
  assert.ok(allocated + reused >= PIECES - 1, `every full-length piece came from the pool (${allocated} + ${reused})`)
})
