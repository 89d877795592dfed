/**
 * The output's first piece in window mode (stdout): peers unchoke within milliseconds of each
 * other, and the first of them must not be given the whole first piece, or the first byte waits
 * for 16 blocks from one (perhaps slow) peer. Engine-level, with fake peers: no sockets, no clock.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Swarm, type WirePeer } from '../../lib/swarm/swarm.js'
import type { Message } from '../../lib/wire/messages.js'
import { makeTorrent } from './fixture-torrent.js'
import { FRESH_QUEUE } from '../../lib/swarm/queue-time.js'

const PIECE = 256 * 1024
const BLOCKS_PER_PIECE = PIECE / (16 * 1024)

interface FakeWire { readonly wire: WirePeer, readonly requests: Array<[number, number]>, deliver: (m: Message) => void }

function fakeWire (id: number): FakeWire {
  const requests: Array<[number, number]> = []
  let onMessage: (m: Message) => void = () => {}
  const wire: WirePeer = {
    peerId: new Uint8Array(20).fill(id),
    fast: true,
    reqq: undefined,
    extensionPeer: { peerExtendedHandshake: undefined, extended: () => true },
    interested () {},
    notInterested () {},
    request (index, begin) { requests.push([index, begin]) },
    cancel () {},
    destroy () {},
    attach (m) { onMessage = m }
  }
  return { wire, requests, deliver: m => onMessage(m) }
}

async function swarmOf (windowPieces: number | undefined, peers: number): Promise<{ swarm: Swarm, wires: FakeWire[] }> {
  const made = makeTorrent({ length: 64 * PIECE, pieceLength: PIECE })
  const wires = Array.from({ length: peers }, (_, i) => fakeWire(i + 1))
  const byPort = new Map(wires.map((w, i) => [6000 + i, w]))
  const swarm = new Swarm({
    meta: made.meta,
    peerId: new Uint8Array(20).fill(99),
    sink: { write: () => true, end: () => {}, destroy: () => {} },
    windowPieces,
    connect: async addr => byPort.get(addr.port)!.wire,
    stallTimeoutMs: 60_000
  })
  for (const port of byPort.keys()) swarm.addPeer({ host: '127.0.0.1', port }, 'manual')
  // The pool dials on the next turns of the event loop.
  for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
  return { swarm, wires }
}

test('stdout: the first piece is asked of the first peers to unchoke, a few blocks each, not all of one peer', async (t) => {
  const { swarm, wires } = await swarmOf(64, 4)
  t.after(() => { swarm.stop() })
  // Every peer has everything (BEP 6) and unchokes us, one after another, before any block arrives.
  for (const w of wires) { w.deliver({ type: 'haveAll' }); w.deliver({ type: 'unchoke' }) }
  for (const w of wires) assert.equal(w.requests.length, FRESH_QUEUE, 'a fresh peer gets a few requests')
  const holders = new Set<number>()
  wires.forEach((w, i) => { if (w.requests.some(([index]) => index === 0)) holders.add(i) })
  assert.equal(holders.size, BLOCKS_PER_PIECE / FRESH_QUEUE, `piece 0 is spread over ${holders.size} peers`)
})

test('disk mode (no window) is unchanged: the first peer fills its queue', async (t) => {
  const { swarm, wires } = await swarmOf(undefined, 2)
  t.after(() => { swarm.stop() })
  for (const w of wires) { w.deliver({ type: 'haveAll' }); w.deliver({ type: 'unchoke' }) }
  assert.ok(wires[0]!.requests.length > FRESH_QUEUE)
})
