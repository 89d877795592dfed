import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Announcer, type AnnouncerOptions, type TrackerFailure } from '../../lib/tracker/announcer.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse, Tracker } from '../../lib/tracker/types.js'
import { TrackerError } from '../../lib/util/errors.js'
import { bytes20 } from './helpers.js'

type Behaviour = (req: AnnounceRequest, signal: AbortSignal) => Promise<AnnounceResponse>

/** A scripted tracker that records every announce it gets. */
class FakeTracker implements Tracker {
  readonly events: AnnounceEvent[] = []
  readonly requests: AnnounceRequest[] = []
  closed = false
  constructor (readonly url: string, private readonly behave: Behaviour) {}
  async announce (req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse> {
    this.events.push(req.event)
    this.requests.push(req)
    return await this.behave(req, signal)
  }

  close (): void { this.closed = true }
}

const answer = (peers: PeerAddress[], interval = 3600, extra: Partial<AnnounceResponse> = {}): Behaviour =>
  async () => ({ interval, peers, warnings: [], ...extra })
const fail = (reason: string): Behaviour => async () => { throw new TrackerError(reason) }
/** Never answers until aborted, like a black-holed tracker. */
const silent: Behaviour = async (_req, signal) => await new Promise((_resolve, reject) => {
  signal.addEventListener('abort', () => reject(new TrackerError('aborted')), { once: true })
})

function setup (tiers: string[][], behaviours: Record<string, Behaviour>, opts: Partial<AnnouncerOptions> = {}): { announcer: Announcer, fakes: Map<string, FakeTracker> } {
  const fakes = new Map<string, FakeTracker>()
  const announcer = new Announcer({
    infoHash: bytes20(1),
    peerId: bytes20(2),
    port: 6881,
    tiers,
    getStats: () => ({ uploaded: 1, downloaded: 2, left: 3 }),
    random: () => 0.999, // Fisher–Yates with j = i everywhere: tiers keep their written order
    minReannounceMs: 0,
    retryDelayMs: 10,
    stopTimeoutMs: 300,
    createTracker: url => {
      const b = behaviours[url]
      if (b === undefined) return 'unsupported scheme (test)'
      const f = new FakeTracker(url, b)
      fakes.set(url, f)
      return f
    },
    ...opts
  })
  return { announcer, fakes }
}

async function take (announcer: Announcer, n: number): Promise<PeerAddress[]> {
  const out: PeerAddress[] = []
  if (n === 0) return out
  for await (const p of announcer.peers) {
    out.push(p)
    if (out.length === n) break
  }
  return out
}

const P = (port: number): PeerAddress => ({ host: '127.0.0.1', port })

test('BEP 12: a tier is tried in order until one answers, and that tracker moves to the front', async () => {
  const calls: string[] = []
  const log = (url: string, b: Behaviour): Behaviour => async (req, s) => { calls.push(url); return await b(req, s) }
  const { announcer } = setup([['t1', 't2', 't3'], ['backup']], {
    t1: log('t1', fail('t1 down')), t2: log('t2', answer([P(1)], 0.01)), t3: log('t3', answer([])), backup: log('backup', answer([]))
  }, { announceToAllTiers: false })
  try {
    announcer.start()
    const summary = await announcer.settled()
    assert.deepEqual(summary.answered, ['t2'])
    assert.deepEqual(calls, ['t1', 't2'])
    // The next round starts with t2, which answered: the backup tier is never needed.
    while (calls.length < 4) await new Promise(resolve => setTimeout(resolve, 5))
    assert.deepEqual(calls.slice(0, 4), ['t1', 't2', 't2', 't2'])
  } finally {
    await announcer.stop()
  }
})

test('BEP 12: when every tracker of a tier fails, the next tier is tried', async () => {
  const { announcer, fakes } = setup([['a', 'b'], ['backup']], { a: fail('a down'), b: fail('b down'), backup: answer([P(9)]) }, { announceToAllTiers: false })
  try {
    announcer.start()
    assert.deepEqual(await take(announcer, 1), [P(9)])
    assert.deepEqual((await announcer.settled()).answered, ['backup'])
    assert.deepEqual(fakes.get('a')?.events, ['started'])
  } finally {
    await announcer.stop()
  }
})

test('BEP 12: tiers are shuffled with the given random source', async () => {
  const calls: string[] = []
  const rec = (url: string): Behaviour => async () => { calls.push(url); throw new TrackerError('x') }
  const { announcer } = setup([['a', 'b', 'c']], { a: rec('a'), b: rec('b'), c: rec('c') }, { random: () => 0 })
  try {
    announcer.start()
    await announcer.settled()
    // Fisher–Yates with random() = 0 swaps each item with the first: [a,b,c] -> [b,c,a].
    assert.deepEqual(calls, ['b', 'c', 'a'])
  } finally {
    await announcer.stop()
  }
})

test('announce to all tiers: the first working tracker of every tier is asked; peers de-duplicated', async () => {
  const { announcer, fakes } = setup([['a1', 'a2'], ['b1']], {
    a1: answer([P(1), P(2)]), a2: answer([P(99)]), b1: answer([P(2), P(3), { host: '::1', port: 2 }])
  })
  try {
    announcer.start()
    const peers = await take(announcer, 4)
    assert.deepEqual(peers.map(p => `${p.host}:${p.port}`).sort(), ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '::1:2'])
    assert.deepEqual(fakes.get('a2')?.events, [])
    assert.deepEqual((await announcer.settled()).answered.sort(), ['a1', 'b1'])
  } finally {
    await announcer.stop()
  }
})

test('BEP 3 events: started first, none on re-announce, completed on complete(), stopped on stop()', async () => {
  const { announcer, fakes } = setup([['t']], { t: answer([], 0.01) })
  announcer.start()
  const t = (): FakeTracker => fakes.get('t') as FakeTracker
  while (t().events.length < 2) await new Promise(resolve => setTimeout(resolve, 5))
  announcer.complete()
  while (!t().events.includes('completed')) await new Promise(resolve => setTimeout(resolve, 5))
  await announcer.stop()
  const events = t().events
  assert.equal(events[0], 'started')
  assert.equal(events[1], undefined)
  assert.equal(events.filter(e => e === 'completed').length, 1)
  assert.equal(events.at(-1), 'stopped')
  assert.equal(t().requests.at(-1)?.numwant, 0)
  assert.equal(t().requests[0]?.left, 3)
  assert.ok(t().closed)
})

test('min interval: no re-announce before `min interval`, whatever `interval` says', async () => {
  const { announcer, fakes } = setup([['t']], { t: answer([], 0.001, { minInterval: 60 }) })
  try {
    announcer.start()
    await announcer.settled()
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.deepEqual(fakes.get('t')?.events, ['started'])
  } finally {
    await announcer.stop()
  }
})

test('no peer at all: an empty answer is asked again soon (doubling), not after the whole interval', async () => {
  let hungry = true
  const { announcer, fakes } = setup([['t']], { t: answer([], 600, { minInterval: 0 }) }, { wantPeers: () => hungry, hungryReannounceMs: 20 })
  try {
    announcer.start()
    for (let i = 0; i < 200 && (fakes.get('t')?.events.length ?? 0) < 3; i++) await new Promise(resolve => setTimeout(resolve, 10))
    assert.deepEqual(fakes.get('t')?.events.slice(0, 3), ['started', undefined, undefined], 'asked again long before 600 s')
    hungry = false
    const asked = fakes.get('t')?.events.length ?? 0
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.ok((fakes.get('t')?.events.length ?? 0) <= asked + 1, 'once peers are known, the interval applies again')
  } finally {
    await announcer.stop()
  }
})

test('a huge interval (UDP uint32 max) waits, it does not overflow the timer into a loop', async () => {
  const { announcer, fakes } = setup([['t']], { t: answer([], 2 ** 32 - 1) })
  try {
    announcer.start()
    await announcer.settled()
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.deepEqual(fakes.get('t')?.events, ['started'])
  } finally {
    await announcer.stop()
  }
})

test('the tracker id from an answer is sent back on later announces', async () => {
  const { announcer, fakes } = setup([['t']], { t: answer([], 0.01, { trackerId: Uint8Array.from([1, 2]) }) })
  try {
    announcer.start()
    while ((fakes.get('t')?.requests.length ?? 0) < 2) await new Promise(resolve => setTimeout(resolve, 5))
    assert.equal(fakes.get('t')?.requests[0]?.trackerId, undefined)
    assert.deepEqual(fakes.get('t')?.requests[1]?.trackerId, Uint8Array.from([1, 2]))
  } finally {
    await announcer.stop()
  }
})

test('stop() is bounded: a tracker that never answers `stopped` costs stopTimeoutMs, not a hang', async () => {
  let stoppedSeen = false
  const { announcer } = setup([['t'], ['deaf']], {
    t: async (req, signal) => {
      if (req.event !== 'stopped') return { interval: 3600, peers: [], warnings: [] }
      stoppedSeen = true
      return await silent(req, signal)
    },
    // Ignores its abort signal entirely: the announcer's own deadline still ends stop().
    deaf: async () => await new Promise<AnnounceResponse>(() => {})
  })
  announcer.start()
  while (!announcer.summary().answered.includes('t')) await new Promise(resolve => setTimeout(resolve, 5))
  await announcer.stop()
  assert.ok(stoppedSeen)
  // The peer stream ends after stop().
  assert.deepEqual(await take(announcer, 1), [])
})

test('skipped schemes and failing trackers are reported per tracker, then all-failed', async () => {
  const errors: string[] = []
  const { announcer } = setup([['wss://tracker.example'], ['udp://dead'], ['http://refusing']], {
    'udp://dead': fail('udp://dead: timed out after 2 attempts (600 ms)'),
    'http://refusing': fail('http://refusing: failure reason: unregistered torrent')
  })
  announcer.on('tracker-error', f => errors.push(f.error.message))
  const allFailed = new Promise<TrackerFailure[]>(resolve => announcer.once('all-failed', resolve))
  try {
    announcer.start()
    const failures = await allFailed
    assert.deepEqual(failures.map(f => f.error.message), [
      'wss://tracker.example: unsupported scheme (test)',
      'udp://dead: timed out after 2 attempts (600 ms)',
      'http://refusing: failure reason: unregistered torrent'
    ])
    assert.ok(errors.includes('wss://tracker.example: unsupported scheme (test)'))
    const summary = await announcer.settled()
    assert.deepEqual(summary.answered, [])
  } finally {
    await announcer.stop()
  }
})

test('the real createTracker skips WebTorrent trackers with a clear note', async () => {
  const announcer = new Announcer({
    infoHash: bytes20(1), peerId: bytes20(2), port: 6881, tiers: [['wss://tracker.example/announce', 'ws://x.example']], getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 })
  })
  const errors: string[] = []
  announcer.on('tracker-error', f => errors.push(f.error.message))
  announcer.start()
  const summary = await announcer.settled()
  await announcer.stop()
  // One tier, shuffled with Math.random: the order of the notes is the shuffle's.
  assert.deepEqual(errors.sort(), [
    'ws://x.example: unsupported scheme ws: (WebTorrent tracker), skipped',
    'wss://tracker.example/announce: unsupported scheme wss: (WebTorrent tracker), skipped'
  ])
  assert.equal(summary.failures.length, 2)
})

test('backpressure: an unread peer stream holds a bounded number of peers', async () => {
  const many = Array.from({ length: 5000 }, (_, i) => P(i + 1))
  const { announcer } = setup([['t']], { t: answer(many) }, { maxQueuedPeers: 100 })
  try {
    announcer.start()
    await announcer.settled()
    assert.ok(announcer.peers.dropped >= 5000 - 64 - 100, `dropped ${announcer.peers.dropped}`)
    await announcer.stop()
    const got = await take(announcer, 5000)
    assert.equal(got.length, 5000 - announcer.peers.dropped)
    assert.equal(new Set(got.map(p => p.port)).size, got.length)
  } finally {
    await announcer.stop()
  }
})

test('BEP 3: an HTTP tracker whose announce was still in flight at stop() may list us: it is told `stopped` too (a UDP one is not)', async () => {
  const { announcer, fakes } = setup([['http://slow/announce'], ['udp://slow:1']], {
    'http://slow/announce': async (req, signal) => req.event === 'stopped' ? { interval: 60, peers: [], warnings: [] } : await silent(req, signal),
    'udp://slow:1': silent
  })
  announcer.start()
  await new Promise(resolve => setImmediate(resolve))
  await announcer.stop()
  assert.deepEqual(fakes.get('http://slow/announce')?.events, ['started', 'stopped'])
  // A UDP tracker that never answered most often never got our announce; waiting on it would hold every exit.
  assert.deepEqual(fakes.get('udp://slow:1')?.events, ['started'])
})

test('describeTrackerFailure: a refusal is "refused", anything else "failed", system errors in words', async () => {
  const { describeTrackerFailure } = await import('../../lib/tracker/announcer.js')
  const url = 'http://t/announce'
  assert.equal(describeTrackerFailure({ url, error: new TrackerError(`${url}: failure reason: torrent not authorized`) }), `the tracker ${url} refused: torrent not authorized`)
  assert.equal(describeTrackerFailure({ url: 'udp://t:1', error: new TrackerError('udp://t:1: tracker error: unregistered torrent') }), 'the tracker udp://t:1 refused: unregistered torrent')
  assert.equal(describeTrackerFailure({ url, error: new TrackerError(`${url}: timed out after 15000 ms`) }), `the tracker ${url} failed: timed out after 15000 ms`)
  const sys = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
  const inner = new TrackerError('ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1', { cause: sys })
  assert.equal(describeTrackerFailure({ url, error: new TrackerError(`${url}: ${inner.message}`, { cause: inner }) }),
    `the tracker ${url} failed: connection refused (nothing listening there) (ECONNREFUSED)`)
})

test('tracker-error events carry each failure, every round, for library users (DownloadStream, DiskDownload and seed forward them)', async () => {
  const { announcer } = setup([['http://refuses/announce']], { 'http://refuses/announce': fail('http://refuses/announce: failure reason: not authorized') })
  const seen: TrackerFailure[] = []
  announcer.on('tracker-error', f => seen.push(f))
  announcer.start()
  await announcer.settled()
  await new Promise(resolve => setTimeout(resolve, 50))
  await announcer.stop()
  assert.ok(seen.length >= 2, `retried and reported again: ${seen.length}`)
  assert.equal(seen[0]?.error.message, 'http://refuses/announce: failure reason: not authorized')
})
