import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Choker, type ChokerPeer, type ChokerTimer } from '../../lib/seed/choker.js'
import { prng } from '../helpers.js'

class Peer implements ChokerPeer {
  isChoked = true
  chokes = 0
  unchokes = 0
  constructor (readonly name: string, public interested: boolean, public downloadRate: number, public uploadRate = 0, public connectedAt = 0) {}
  unchoke (): void { this.isChoked = false; this.unchokes++ }
  choke (): void { this.isChoked = true; this.chokes++ }
}

class FakeTimer implements ChokerTimer {
  fn: (() => void) | undefined
  ms = 0
  setInterval (fn: () => void, ms: number): unknown { this.fn = fn; this.ms = ms; return 1 }
  clearInterval (): void { this.fn = undefined }
  tick (): void { this.fn?.() }
}

const unchoked = (peers: Peer[]): string[] => peers.filter(p => !p.isChoked).map(p => p.name).sort()

/** Eight interested peers p0..p7 with download rates 0..7 kB/s, old connections. */
function swarm (): Peer[] {
  return Array.from({ length: 8 }, (_, i) => new Peer(`p${i}`, true, i * 1000, (7 - i) * 1000, -1_000_000))
}

function choker (opts: { seed?: boolean, random?: () => number, now?: () => number, timer?: FakeTimer } = {}): Choker<Peer> {
  return new Choker<Peer>({ isSeed: () => opts.seed ?? false, random: opts.random ?? prng(1), now: opts.now ?? (() => 0), timer: opts.timer ?? new FakeTimer() })
}

test('BEP 3 choking: the three best downloaders among interested peers get regular slots, one more is the optimistic unchoke', () => {
  const peers = swarm()
  const rich = new Peer('rich-but-uninterested', false, 1e9)
  const c = choker()
  for (const p of [...peers, rich]) c.add(p)
  c.rechoke()
  const open = unchoked([...peers, rich])
  assert.equal(open.length, 4)
  for (const best of ['p5', 'p6', 'p7']) assert.ok(open.includes(best), `${best} has a regular slot`)
  assert.ok(c.optimistic !== undefined && ['p0', 'p1', 'p2', 'p3', 'p4'].includes(c.optimistic.name))
  assert.ok(open.includes(c.optimistic.name))
  assert.equal(rich.isChoked, true, 'a peer that does not want anything gets no slot')
})

test('BEP 3 choking: "If a downloader has a complete file, it uses its upload rate rather than its download rate"', () => {
  const peers = swarm()
  const c = choker({ seed: true })
  for (const p of peers) c.add(p)
  c.rechoke()
  for (const best of ['p0', 'p1', 'p2']) assert.equal(peers.find(p => p.name === best)?.isChoked, false)
  assert.ok(c.optimistic !== undefined && !['p0', 'p1', 'p2'].includes(c.optimistic.name))
})

test('BEP 3 choking: "only changing who\'s choked once every ten seconds": rate changes wait for the next rechoke', () => {
  const timer = new FakeTimer()
  const peers = swarm()
  const c = choker({ timer })
  for (const p of peers) c.add(p)
  c.start()
  assert.equal(timer.ms, 10_000)
  timer.tick()
  const before = unchoked(peers)
  const optimistic = c.optimistic
  // p0 becomes the best downloader: nothing changes until the timer fires.
  const p0 = peers[0] as Peer
  p0.downloadRate = 1e6
  c.fill()
  assert.deepEqual(unchoked(peers), before)
  timer.tick()
  assert.equal(p0.isChoked, false)
  assert.ok(!unchoked(peers).includes('p5') || c.optimistic?.name === 'p5', 'p5 lost its regular slot to p0')
  assert.notEqual(optimistic, undefined)
  c.stop()
  assert.equal(timer.fn, undefined)
})

test('BEP 3 optimistic unchoke: "rotates every 30 seconds" (every third rechoke), to another peer', () => {
  const peers = swarm()
  const c = choker({ random: prng(7) })
  for (const p of peers) c.add(p)
  const seen: string[] = []
  for (let round = 0; round < 9; round++) {
    c.rechoke()
    seen.push(c.optimistic?.name ?? '-')
  }
  // Rounds 0-2 share one optimistic, 3-5 another, 6-8 another; each differs from the one before.
  for (const start of [0, 3, 6]) assert.equal(new Set(seen.slice(start, start + 3)).size, 1, `rounds ${start}..${start + 2}: ${seen.join(',')}`)
  assert.notEqual(seen[0], seen[3])
  assert.notEqual(seen[3], seen[6])
  for (const name of seen) assert.ok(['p0', 'p1', 'p2', 'p3', 'p4'].includes(name), 'never one of the regular three')
})

test('BEP 3 optimistic unchoke: "new connections are three times as likely to start as the current optimistic unchoke"', () => {
  // Two candidates (the regular slots are taken): weight 3 for the new connection, 1 for the old
  // one. Over random() values spread evenly across [0, 1), exactly three quarters pick the new one.
  const pick = (r: number): string => {
    const now = 1_000_000
    const regulars = [new Peer('r1', true, 9e6, 0, 0), new Peer('r2', true, 9e6, 0, 0), new Peer('r3', true, 9e6, 0, 0)]
    const old = new Peer('old', true, 0, 0, 0)
    const fresh = new Peer('new', true, 0, 0, now - 5_000)
    const c = choker({ random: () => r, now: () => now })
    for (const p of [...regulars, old, fresh]) c.add(p)
    c.rechoke()
    return c.optimistic?.name ?? '-'
  }
  let fresh = 0
  for (let i = 0; i < 1000; i++) if (pick((i + 0.5) / 1000) === 'new') fresh++
  assert.equal(fresh, 750)
  // A connection older than one rotation (30 s) is no longer new: even odds.
  const evenOdds = (r: number): string => {
    const regulars = [new Peer('r1', true, 9e6), new Peer('r2', true, 9e6), new Peer('r3', true, 9e6)]
    const c = choker({ random: () => r, now: () => 1_000_000 })
    for (const p of [...regulars, new Peer('a', true, 0, 0, 0), new Peer('b', true, 0, 0, 1_000_000 - 31_000)]) c.add(p)
    c.rechoke()
    return c.optimistic?.name ?? '-'
  }
  let a = 0
  for (let i = 0; i < 1000; i++) if (evenOdds((i + 0.5) / 1000) === 'a') a++
  assert.equal(a, 500)
})

test('no fibrillation: at equal rates the peers holding slots keep them, round after round', () => {
  // The younger peers were interested first and took the slots; the older ones are as good,
  // not better, so rechokes must not swap them in.
  const peers = Array.from({ length: 10 }, (_, i) => new Peer(`e${i}`, i >= 6, 5000, 0, i))
  const c = choker({ random: prng(3) })
  for (const p of peers) c.add(p)
  assert.deepEqual(unchoked(peers), ['e6', 'e7', 'e8', 'e9'])
  for (const p of peers) p.interested = true
  c.rechoke()
  const regular = ['e6', 'e7', 'e8']
  for (let round = 1; round < 12; round++) c.rechoke()
  for (const name of regular) {
    const p = peers.find(q => q.name === name) as Peer
    assert.equal(p.isChoked, false, `${name} kept its slot`)
    assert.equal(p.chokes, 0, `${name} was never choked`)
  }
  assert.equal(unchoked(peers).length, 4)
})

test('between rechokes: a new or newly interested peer takes a free slot at once, and never someone else\'s', () => {
  const c = choker()
  const a = new Peer('a', true, 100)
  c.add(a)
  assert.equal(a.isChoked, false, 'a free slot is given at once, not in ten seconds')
  const b = new Peer('b', false, 100)
  c.add(b)
  assert.equal(b.isChoked, true, 'not interested: no slot')
  b.interested = true
  c.fill()
  assert.equal(b.isChoked, false)
  const more = [new Peer('c', true, 1), new Peer('d', true, 1), new Peer('e', true, 1e9)]
  for (const p of more) c.add(p)
  assert.deepEqual(unchoked([a, b, ...more]), ['a', 'b', 'c', 'd'], 'four slots, first come; e waits for the rechoke')
  assert.equal([a, b, ...more].reduce((n, p) => n + p.chokes, 0), 0)
  c.remove(a)
  assert.equal((more[2] as Peer).isChoked, false, 'a closed connection frees its slot')
})

test('a peer that loses interest gives up its slot at the next rechoke; an unchoked peer is choked before another is unchoked', () => {
  const peers = swarm()
  const order: string[] = []
  for (const p of peers) {
    const u = p.unchoke.bind(p); const ch = p.choke.bind(p)
    p.unchoke = () => { order.push(`+${p.name}`); u() }
    p.choke = () => { order.push(`-${p.name}`); ch() }
  }
  const c = choker()
  for (const p of peers) c.add(p)
  c.rechoke()
  const p7 = peers[7] as Peer
  p7.interested = false
  order.length = 0
  c.rechoke()
  assert.equal(p7.isChoked, true)
  assert.equal(unchoked(peers).length, 4)
  assert.ok(order.indexOf('-p7') < order.findIndex(s => s.startsWith('+')), order.join(' '))
})
