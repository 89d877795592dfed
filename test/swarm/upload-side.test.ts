/**
 * The engine's upload side on its own, over fake connections and an injected clock: BEP 3 choking
 * by what each peer gives us while we leech, requests answered from the reader, and `have` sent
 * only to the peers that lack the piece.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { UploadSide } from '../../lib/swarm/upload-side.js'
import type { ServedConnection } from '../../lib/seed/served-peers.js'
import { PeerSession, type PeerLink } from '../../lib/swarm/peer-session.js'
import type { WirePeer } from '../../lib/swarm/swarm.js'
import { BitField } from '../../lib/wire/bitfield.js'

const PIECES = 8
const PL = 16 * 1024
const NOW = 100_000

class FakeConn extends EventEmitter implements ServedConnection {
  amChoking = true
  fastEnabled = true
  peerInterested = false
  destroying = false
  peerPieces: BitField | undefined = new BitField(PIECES)
  readonly sent: string[] = []
  choke (): boolean { this.amChoking = true; this.sent.push('choke'); return true }
  unchoke (): boolean { this.amChoking = false; this.sent.push('unchoke'); return true }
  piece (index: number, begin: number, block: Uint8Array): boolean { this.sent.push(`piece ${index} ${begin} ${block.length} ${block[0] ?? -1}`); return true }
  reject (index: number, begin: number, length: number): boolean { this.sent.push(`reject ${index} ${begin} ${length}`); return true }
  have (index: number): boolean { this.sent.push(`have ${index}`); return true }
  destroy (): void { this.destroying = true; this.emit('close') }
}

function peer (conn: FakeConn): { session: PeerSession, wire: WirePeer } {
  const link: PeerLink = {
    fast: true,
    reqq: undefined,
    extensionPeer: { peerExtendedHandshake: undefined, extended: () => true },
    interested: () => {},
    notInterested: () => {},
    request: () => {},
    cancel: () => {},
    destroy: () => { conn.destroy() }
  }
  const wire: WirePeer = { ...link, peerId: new Uint8Array(20), connection: conn, attach: () => {} }
  return { session: new PeerSession({ host: '127.0.0.1', port: 1 }, link, PIECES, NOW - 5000), wire }
}

function side (have: BitField, complete = false, random = 0): UploadSide {
  return new UploadSide({
    // Each block reads as bytes equal to its piece index.
    reader: { read: async (index, _begin, length) => new Uint8Array(length).fill(index) },
    have,
    geometry: { pieceLength: PL, pieceCount: PIECES, lastPieceLength: PL },
    complete: () => complete,
    now: () => NOW,
    choker: { slots: 2, random: () => random, timer: { setInterval: () => 0, clearInterval: () => {} } }
  })
}

test('BEP 3 choking while we leech: the peer that gives us the most keeps the regular slot', () => {
  // random() = 0.99: the optimistic unchoke goes to the last candidate.
  const up = side(new BitField(PIECES), false, 0.99)
  const peers = [1000, 90_000, 5000].map(rate => {
    const conn = new FakeConn()
    conn.peerInterested = true
    const p = peer(conn)
    p.session.download.add(rate * 4, NOW - 1000)
    up.open(p.session, p.wire)
    return { conn, ...p }
  })
  up.choker.rechoke()
  // Two slots: the regular one by download rate (the 90 kB/s peer, though two peers held a slot
  // since they connected), the optimistic one to the last other peer in rank order (1 kB/s).
  assert.deepEqual(peers.map(p => !p.conn.amChoking), [true, true, false])
  up.stop()
})

test('requests go to the peer\'s Uploader: a piece on disk is sent, a missing one rejected (BEP 6)', async () => {
  const have = new BitField(PIECES)
  have.set(2)
  const up = side(have)
  const conn = new FakeConn()
  const p = peer(conn)
  up.open(p.session, p.wire)
  conn.peerInterested = true
  up.onMessage(p.session, { type: 'interested' })
  assert.equal(conn.amChoking, false, 'a free slot: unchoked at once')
  up.onMessage(p.session, { type: 'request', index: 2, begin: 0, length: PL })
  up.onMessage(p.session, { type: 'request', index: 3, begin: 0, length: PL })
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(conn.sent.filter(s => !s.startsWith('unchoke')), [`reject 3 0 ${PL}`, `piece 2 0 ${PL} 2`])
  assert.equal(up.uploaded, PL)
  up.close(p.session)
  assert.equal(up.uploaded, PL, 'a closed peer\'s bytes still count')
  up.stop()
})

test('BEP 3 have: a written piece becomes servable and is announced only to peers that lack it', () => {
  const have = new BitField(PIECES)
  const up = side(have)
  const lacking = new FakeConn()
  const holding = new FakeConn()
  holding.peerPieces?.set(5)
  const gone = new FakeConn()
  for (const c of [lacking, holding, gone]) { const p = peer(c); up.open(p.session, p.wire) }
  gone.destroying = true
  assert.equal(up.pieceWritten(5), 1)
  assert.equal(have.get(5), true)
  assert.deepEqual(lacking.sent, ['have 5'])
  assert.deepEqual(holding.sent, [])
  assert.deepEqual(gone.sent, [])
  assert.equal(up.pieceWritten(5), 0, 'announced once')
  up.stop()
})
