/**
 * The output's head against a slow peer (real loopback TCP): in window mode (stdout) the bytes
 * come out in order, so a block one slow peer holds would hold every byte behind it. The engine
 * asks a faster peer for it too (head-of-line.ts) and trims the slow peer's queue (queue-time.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { download } from '../../lib/session/download.js'
import { startFakeSeeder } from './fake-seeder.js'
import { makeTorrent } from './fixture-torrent.js'
import { collect } from '../helpers.js'
import { within } from '../wire/helpers.js'

/** One block a piece: every block the slow peer holds is a whole piece the output waits for. */
const PIECE = 16 * 1024
const PIECES = 1024
/** One block a second: each head piece the slow peer holds would stop the output that long. */
const SLOW_DELAY_MS = 1000
/**
 * A good engine finishes in about the slow peer's first block (observed 1.8 s on a loaded
 * machine). Waiting on the slow peer piece by piece (the cursor's piece only, after a stale
 * timeout, the slow peer's queue refilled each time) took more than 8 s.
 */
const BOUND_MS = 8000
const WINDOW_PIECES = 64

test('stdout: head blocks a slow peer holds are asked of a fast peer at once; the output does not wait on the slow one', async (t) => {
  const made = makeTorrent({ length: PIECES * PIECE, pieceLength: PIECE })
  const slow = await startFakeSeeder(made.meta, made.data, { kind: 'slow', delayMs: SLOW_DELAY_MS })
  t.after(async () => { await slow.close() })
  const fast = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(async () => { await fast.close() })
  // The slow peer alone first, so it holds the head's requests when the fast one joins.
  const stream = download(made.meta, { peers: [{ host: '127.0.0.1', port: slow.port }], trackers: false, windowBytes: WINDOW_PIECES * PIECE })
  t.after(() => { stream.destroy() })
  const started = Date.now()
  const output = collect(stream)
  while (slow.connections() === 0) await new Promise(resolve => setTimeout(resolve, 20))
  await new Promise(resolve => setTimeout(resolve, 100))
  stream.swarm.addPeer({ host: '127.0.0.1', port: fast.port }, 'manual')
  const out = await within(BOUND_MS, 'the download beside a slow peer', output)
  assert.ok(out.equals(made.data), 'byte-identical')
  assert.ok(slow.sent() < PIECES / 4, `the slow peer sent ${slow.sent()} of ${PIECES} blocks`)
  assert.ok(stream.merger.peakHeldBytes <= WINDOW_PIECES * PIECE, 'within the window')
  t.diagnostic(`took ${Date.now() - started} ms; slow peer sent ${slow.sent()}, fast ${fast.sent()}`)
})
