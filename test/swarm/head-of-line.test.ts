import { test } from 'node:test'
import assert from 'node:assert/strict'
import { drainMs, headFor, headPieces, rescueWorthIt, type HeadPeers } from '../../lib/swarm/head-of-line.js'
import { PeerSession, type PeerLink } from '../../lib/swarm/peer-session.js'
import { BLOCK_LENGTH } from '../../lib/pieces/active-piece.js'
import type { ExtensionPeer } from '../../lib/extensions/extension-ids.js'

const MiB = 1024 * 1024
const STALE_MS = 1500

function session (port: number, bytesPerSecond: number, now: number): PeerSession {
  const link: PeerLink = {
    fast: true,
    reqq: undefined,
    extensionPeer: {} as unknown as ExtensionPeer,
    interested () {},
    notInterested () {},
    request () {},
    cancel () {},
    destroy () {}
  }
  const s = new PeerSession({ host: '127.0.0.1', port }, link, 8, now - 4000)
  // Four seconds at the rate, in 250 ms steps: the meter's window is full.
  if (bytesPerSecond > 0) for (let t = now - 4000; t < now; t += 250) s.download.add(bytesPerSecond / 4, t)
  return s
}

test('a head block is duplicated only to a peer expected to deliver it sooner than its holder', () => {
  // Equal drain times (a balanced swarm): never, so a healthy swarm wastes nothing.
  assert.equal(rescueWorthIt(500, 500, 100, STALE_MS), false)
  // The holder's queue drains in 2 s, the rescuer's in 100 ms: at once.
  assert.equal(rescueWorthIt(100, 2000, 0, STALE_MS), true)
  // Nearly due at the holder: not worth a block twice.
  assert.equal(rescueWorthIt(100, 2000, 1950, STALE_MS), false)
  // Far past its own expected delivery, the holder is behind: it needs another drain.
  assert.equal(rescueWorthIt(100, 400, 5000, STALE_MS), true)
  // Without both estimates the engine's age rule decides.
  assert.equal(rescueWorthIt(undefined, 2000, 1000, STALE_MS), false)
  assert.equal(rescueWorthIt(100, undefined, 1600, STALE_MS), true)
})

test('drain time is the queue at the measured rate; head pieces are an eighth of the window, at least two', () => {
  assert.equal(drainMs(64, MiB), 1000)
  assert.equal(drainMs(1, 0), undefined)
  assert.equal(headPieces(64), 8)
  assert.equal(headPieces(4), 2)
})

test('headFor: a slow holder with a deep queue loses its head blocks to a fast peer; an idle holder to anyone', () => {
  const now = 100_000
  const slow = session(1, 256 * 1024, now) // 64 blocks queued: 4 s
  const fast = session(2, 4 * MiB, now) //    16 blocks queued: 62 ms
  const quiet = session(3, MiB, now)
  const queued = new Map([[slow, 64], [fast, 16], [quiet, 4]])
  const peers: HeadPeers = { outstanding: s => queued.get(s) ?? 0, idle: s => s === quiet }
  const forFast = headFor(fast, 10, 64, peers, now, STALE_MS)
  assert.equal(forFast.end, 17, 'the head: pieces 10..17')
  assert.equal(forFast.late(slow, 300), true)
  assert.equal(forFast.late(quiet, 10), true, 'an idle holder counts as late')
  const forSlow = headFor(slow, 10, 64, peers, now, STALE_MS)
  assert.equal(forSlow.late(fast, 300), false, 'never from a fast peer to a slow one')
  // A new peer with nothing queued answers after a round trip: it may rescue before its rate is known.
  const fresh = session(4, 0, now)
  assert.equal(headFor(fresh, 10, 64, peers, now, STALE_MS).late(slow, 10), true)
  // Holding requests without a known rate: the age rule.
  queued.set(fresh, 3)
  assert.equal(headFor(fresh, 10, 64, peers, now, STALE_MS).late(slow, 10), false)
  assert.equal(BLOCK_LENGTH, 16 * 1024)
})
