import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PeerPool, type PeerAddress } from '../../lib/swarm/peer-pool.js'

class Conn { destroyed = false; destroy (): void { this.destroyed = true } }

function pool (dial: (a: PeerAddress) => Promise<Conn>, extra: Partial<{ maxPeers: number, maxHalfOpen: number, maxRetries: number }> = {}) {
  return new PeerPool<Conn>({ maxPeers: extra.maxPeers ?? 10, maxHalfOpen: extra.maxHalfOpen ?? 4, maxRetries: extra.maxRetries ?? 0, retryBaseMs: 1, dial })
}
const tick = () => new Promise(resolve => setImmediate(resolve))

test('a peer is its address and port: two peers on one IP are both dialed, a repeat is not', async () => {
  const dialed: string[] = []
  const p = pool(async a => { dialed.push(`${a.host}:${a.port}`); return new Conn() })
  p.add({ host: '127.0.0.1', port: 6881 }, 'tracker')
  p.add({ host: '127.0.0.1', port: 6882 }, 'tracker')
  p.add({ host: '127.0.0.1', port: 6881 }, 'pex')
  await tick()
  assert.deepEqual(dialed.sort(), ['127.0.0.1:6881', '127.0.0.1:6882'])
  assert.equal(p.connectedCount, 2)
  p.close()
})

test('the half-open cap bounds dials in flight; the connection cap bounds open peers', async () => {
  let inFlight = 0; let peak = 0
  const p = pool(async () => {
    inFlight++; peak = Math.max(peak, inFlight)
    await tick()
    inFlight--
    return new Conn()
  }, { maxPeers: 5, maxHalfOpen: 2 })
  for (let port = 1; port <= 20; port++) p.add({ host: '10.0.0.1', port }, 'tracker')
  for (let i = 0; i < 20; i++) await tick()
  assert.equal(peak, 2)
  assert.equal(p.connectedCount, 5)
  p.close()
})

test('invalid addresses (port 0, no host) are ignored', async () => {
  const p = pool(async () => new Conn())
  p.add({ host: '127.0.0.1', port: 0 }, 'tracker')
  p.add({ host: '', port: 5 }, 'tracker')
  assert.equal(p.stats.known, 0)
  p.close()
})

test('a banned address is never dialed again; a connection that completes after a ban is closed', async () => {
  let release!: (c: Conn) => void
  const conn = new Conn()
  const p = pool(() => new Promise<Conn>(resolve => { release = resolve }))
  const a = { host: '127.0.0.1', port: 1 }
  p.add(a, 'tracker')
  p.ban(a, 'ourselves')
  release(conn)
  await tick()
  assert.equal(conn.destroyed, true)
  assert.equal(p.connectedCount, 0)
  p.add(a, 'pex')
  await tick()
  assert.equal(p.stats.dialing, 0)
  p.close()
})

test('failed dials are retried up to the budget, then the address is given up', async () => {
  let attempts = 0
  const p = pool(async () => { attempts++; throw new Error('refused') }, { maxRetries: 2 })
  const errors: string[] = []
  p.on('dial-error', (_a, e) => errors.push(e.message))
  p.add({ host: '127.0.0.1', port: 9 }, 'tracker')
  for (let i = 0; i < 200 && attempts < 3; i++) await new Promise(resolve => setTimeout(resolve, 5))
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(attempts, 3)
  assert.equal(p.exhausted, true)
  assert.deepEqual(errors, ['refused', 'refused', 'refused'])
  p.close()
})

test('incoming connections are admitted under the cap, not twice, never when banned', () => {
  const p = pool(async () => new Conn(), { maxPeers: 1 })
  const a = { host: '127.0.0.1', port: 1 }
  assert.equal(p.admit(a), true)
  assert.equal(p.admit(a), false)
  p.disconnected(a, true)
  p.ban(a, 'bad data')
  assert.equal(p.admit(a), false)
  p.close()
})

test('an incoming peer that leaves is forgotten, never dialed back (its port was its own dial port)', async () => {
  let dials = 0
  const p = pool(async () => { dials++; return new Conn() }, { maxPeers: 2, maxRetries: 2 })
  const a = { host: '127.0.0.1', port: 40001 }
  assert.equal(p.admit(a), true)
  p.disconnected(a, false)
  assert.equal(p.stats.known, 0)
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.equal(dials, 0)
  assert.equal(p.admit(a), true, 'it may dial us again')
  p.close()
})
