import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { Uploader, type UploadConnection } from '../../lib/seed/uploader.js'
import { ProtocolError } from '../../lib/util/errors.js'
import { BitField } from '../../lib/wire/bitfield.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { next, nextOf, within } from '../wire/helpers.js'
import { connectedPair, GatedReader, MemoryReader, seen, torrentBytes } from './helpers.js'

const PIECE_LENGTH = 32768
const PIECE_COUNT = 5
const LAST = 10000
const GEOMETRY = { pieceLength: PIECE_LENGTH, pieceCount: PIECE_COUNT, lastPieceLength: LAST }
const DATA = torrentBytes(PIECE_LENGTH * (PIECE_COUNT - 1) + LAST)
const KiB16 = 16384

/** We have every piece but piece 2. */
function haveAllBut2 (): BitField {
  const have = BitField.full(PIECE_COUNT)
  have.set(2, false)
  return have
}

function expected (index: number, begin: number, length: number): Uint8Array {
  const start = index * PIECE_LENGTH + begin
  return DATA.subarray(start, start + length)
}

/** Our side of a loopback pair, with an Uploader fed by our connection's messages. */
async function setup (fast: boolean, reader: { read: MemoryReader['read'] } = new MemoryReader(DATA, PIECE_LENGTH), extra: { maxQueued?: number, floodLimit?: number, maxReading?: number } = {}) {
  const have = haveAllBut2()
  const pair = await connectedPair({ pieceCount: PIECE_COUNT, have, fast })
  const up = new Uploader(pair.ours, { reader, have, geometry: GEOMETRY, ...extra })
  pair.ours.on('data', (m: unknown) => { up.onMessage(m as Message) })
  // Their view starts with our bitfield (or have all / none with BEP 6).
  await nextOf(pair.theirs, 'bitfield')
  return { ...pair, up, have }
}

async function expectPiece (theirs: PeerConnection, index: number, begin: number, length: number): Promise<void> {
  const m = await next(theirs)
  assert.equal(m.type, 'piece', `expected piece ${index} ${begin}+${length}, got ${JSON.stringify(m)}`)
  if (m.type !== 'piece') return
  assert.deepEqual({ index: m.index, begin: m.begin }, { index, begin })
  assert.ok(Buffer.from(m.block).equals(expected(index, begin, length)), `piece ${index} ${begin}+${length} byte-exact`)
}

for (const fast of [true, false]) {
  const mode = fast ? 'BEP 6 on' : 'BEP 6 off'

  test(`BEP 3 request/piece (${mode}): valid requests are answered byte-exact from the reader, in order`, async () => {
    const s = await setup(fast)
    try {
      s.up.unchoke()
      assert.equal((await next(s.theirs)).type, 'unchoke')
      const asks: Array<[number, number, number]> = [[0, 0, KiB16], [0, KiB16, KiB16], [3, 100, 5000], [4, 0, KiB16 - 6384], [4, 9000, 1000], [1, 32767, 1]]
      for (const [i, b, l] of asks) s.theirs.request(i, b, l)
      for (const [i, b, l] of asks) await expectPiece(s.theirs, i, b, l)
      assert.equal(s.up.uploaded, asks.reduce((n, a) => n + a[2], 0))
      assert.equal(s.up.pending, 0)
    } finally { await s.close() }
  })

  test(`BEP 6 reject (${mode}): a piece we lack, a block past the piece end, or a request while choked is ${fast ? 'rejected' : 'ignored'}`, async () => {
    const s = await setup(fast)
    try {
      const asked = seen(s.ours, m => m.type === 'request')
      s.theirs.request(0, 0, KiB16) // choked: refused
      await within(5000, 'the request while choked arrived', asked)
      s.up.unchoke()
      assert.equal((await next(s.theirs)).type, fast ? 'reject' : 'unchoke')
      if (fast) assert.equal((await next(s.theirs)).type, 'unchoke')
      const refused: Array<[number, number, number]> = [[2, 0, KiB16], [4, LAST - 100, 101], [0, PIECE_LENGTH - KiB16 + 1, KiB16], [0, PIECE_LENGTH, 1]]
      for (const [i, b, l] of refused) s.theirs.request(i, b, l)
      s.theirs.request(1, 0, 100) // a valid one after them: its piece comes after their rejects, or first
      if (fast) {
        for (const [index, begin, length] of refused) assert.deepEqual(await next(s.theirs), { type: 'reject', index, begin, length })
      }
      await expectPiece(s.theirs, 1, 0, 100)
      assert.deepEqual(s.up.refused, { choked: 1, 'missing piece': 1, 'bad length': 0, 'bad range': 3, duplicate: 0, 'queue full': 0 })
    } finally { await s.close() }
  })

  test(`BEP 3 cancel (${mode}): a queued request is dropped${fast ? ' and rejected; the one being read is still sent (exactly one answer per request)' : ', and so is the one being read'}`, async () => {
    const gate = new GatedReader(new MemoryReader(DATA, PIECE_LENGTH))
    const s = await setup(fast, gate, { maxReading: 1 })
    try {
      s.up.unchoke()
      await next(s.theirs)
      let cancels = 0
      const cancelled = seen(s.ours, m => m.type === 'cancel' && ++cancels === 2)
      s.theirs.request(0, 0, KiB16)
      s.theirs.request(1, 0, KiB16)
      s.theirs.request(3, 0, KiB16)
      s.theirs.cancel(1, 0, KiB16)
      s.theirs.cancel(0, 0, KiB16) // being read already
      await within(5000, 'our side saw the cancels', cancelled)
      assert.equal(gate.started, 1)
      assert.equal(s.up.pending, 2)
      gate.release()
      if (fast) {
        assert.deepEqual(await next(s.theirs), { type: 'reject', index: 1, begin: 0, length: KiB16 })
        await expectPiece(s.theirs, 0, 0, KiB16)
      }
      await expectPiece(s.theirs, 3, 0, KiB16)
      assert.equal(gate.started, 2)
    } finally { await s.close() }
  })

  test(`BEP 6 choke (${mode}): choking ${fast ? 'sends choke, then rejects every queued request' : 'drops every queued request'}; no stale piece follows`, async () => {
    const gate = new GatedReader(new MemoryReader(DATA, PIECE_LENGTH))
    const s = await setup(fast, gate, { maxReading: 2 })
    try {
      s.up.unchoke()
      await next(s.theirs)
      const last = seen(s.ours, m => m.type === 'request' && m.index === 4)
      const asks: Array<[number, number, number]> = [[0, 0, KiB16], [0, KiB16, KiB16], [1, 0, KiB16], [3, 0, 7], [4, 0, 9]]
      for (const [i, b, l] of asks) s.theirs.request(i, b, l)
      await within(5000, 'our side saw the requests', last)
      assert.equal(s.up.pending, 5)
      s.up.choke()
      assert.equal(s.up.pending, 2) // two reads in flight, answered already
      gate.release()
      assert.equal((await next(s.theirs)).type, 'choke')
      if (fast) {
        const rejects: string[] = []
        for (let i = 0; i < asks.length; i++) {
          const m = await next(s.theirs)
          assert.equal(m.type, 'reject')
          if (m.type === 'reject') rejects.push(`${m.index}/${m.begin}/${m.length}`)
        }
        assert.deepEqual(rejects.sort(), asks.map(a => a.join('/')).sort())
      }
      // The reads held by the gate finish now; their data must not be sent after the choke.
      s.up.unchoke()
      s.theirs.request(3, 50, 50)
      assert.equal((await next(s.theirs)).type, 'unchoke')
      await expectPiece(s.theirs, 3, 50, 50)
    } finally { await s.close() }
  })
}

test('request flood: beyond maxQueued requests are refused (BEP 6 reject) and cost nothing held; past floodLimit refused requests for pieces we lack the peer is dropped, while an honest peer keeps being served', async () => {
  const gate = new GatedReader(new MemoryReader(DATA, PIECE_LENGTH))
  const flood = await setup(true, gate, { maxQueued: 250, floodLimit: 1000 })
  const honest = await setup(true)
  try {
    flood.up.unchoke()
    honest.up.unchoke()
    await next(flood.theirs)
    await next(honest.theirs)
    // 300 requests: 250 held, 50 rejected ("queue full"), the connection stays.
    const at300 = seen(flood.ours, m => m.type === 'request' && m.begin === 299)
    for (let i = 0; i < 300; i++) flood.theirs.request(0, i, 1)
    await within(5000, '300 requests arrived', at300)
    assert.equal(flood.up.pending, 250)
    assert.equal(flood.up.refused['queue full'], 50)
    for (let i = 0; i < 50; i++) assert.deepEqual(await next(flood.theirs), { type: 'reject', index: 0, begin: 250 + i, length: 1 })
    assert.equal(flood.ours.destroying, false)

    // 2000 more while it reads our answers: every one rejected, nothing more held, still connected
    // (a peer that asks for more than we hold but reads is not flooding us).
    const at2000 = seen(flood.ours, m => m.type === 'request' && m.index === 1 && m.begin === 1999)
    for (let i = 0; i < 2000; i++) flood.theirs.request(1, i, 1)
    await within(5000, '2000 more requests arrived', at2000)
    assert.equal(flood.up.pending, 250)
    assert.equal(flood.up.refused['queue full'], 2050)
    for (let i = 0; i < 2000; i++) assert.equal((await next(flood.theirs)).type, 'reject')
    assert.equal(flood.ours.destroying, false)

    // Then requests for a piece we lack: past 1000 strikes we hang up.
    const closed = new Promise<Error | undefined>(resolve => {
      let err: Error | undefined
      flood.ours.on('error', (e: Error) => { err = e })
      flood.ours.on('close', () => resolve(err))
    })
    for (let i = 0; i < 5000; i++) flood.theirs.request(2, i, 1)
    // The honest peer asks at the same time, and is served byte-exact.
    for (let i = 0; i < 8; i++) honest.theirs.request(i % 2, i * 1024, 1024)
    for (let i = 0; i < 8; i++) await expectPiece(honest.theirs, i % 2, i * 1024, 1024)
    const err = await within(5000, 'the flooder is dropped', closed)
    assert.ok(err instanceof ProtocolError)
    assert.match(err.message, /request flood: more than 1000 refused requests/)
    assert.equal(flood.up.refused['missing piece'], 1001)
    assert.equal(honest.ours.destroying, false)
    honest.theirs.request(4, 0, LAST)
    await expectPiece(honest.theirs, 4, 0, LAST)
  } finally {
    gate.release()
    await flood.close()
    await honest.close()
  }
})

/** A connection that takes `room` pieces before it says "wait for drain". */
class FakeConn extends EventEmitter implements UploadConnection {
  amChoking = true
  fastEnabled = true
  sent: Message[] = []
  room: number
  constructor (room: number) { super(); this.room = room }
  choke (): boolean { this.amChoking = true; this.sent.push({ type: 'choke' }); return true }
  unchoke (): boolean { this.amChoking = false; this.sent.push({ type: 'unchoke' }); return true }
  piece (index: number, begin: number, block: Uint8Array): boolean { this.sent.push({ type: 'piece', index, begin, block }); return --this.room > 0 }
  reject (index: number, begin: number, length: number): boolean { this.sent.push({ type: 'reject', index, begin, length }); return true }
  destroy (): void { this.emit('close') }
}

const settle = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('backpressure: once piece() returns false no disk read starts until drain; reads in flight are bounded by maxReading', async () => {
  const reader = new MemoryReader(DATA, PIECE_LENGTH)
  const conn = new FakeConn(3)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY, maxReading: 2 })
  up.unchoke()
  for (let i = 0; i < 20; i++) up.onMessage({ type: 'request', index: 0, begin: i * 1000, length: 1000 })
  assert.equal(reader.reads, 2, 'maxReading reads start at once')
  for (let i = 0; i < 5; i++) await settle()
  // Third piece() said false: the read already in flight lands, no new one starts.
  assert.equal(conn.sent.filter(m => m.type === 'piece').length, 4)
  assert.equal(reader.reads, 4)
  conn.room = 2
  conn.emit('drain')
  for (let i = 0; i < 5; i++) await settle()
  assert.equal(conn.sent.filter(m => m.type === 'piece').length, 7)
  assert.equal(up.pending, 13)
  conn.room = 100
  conn.emit('drain')
  for (let i = 0; i < 20; i++) await settle()
  assert.deepEqual(conn.sent.filter(m => m.type === 'piece').map(m => m.type === 'piece' ? m.begin : -1), Array.from({ length: 20 }, (_, i) => i * 1000))
  assert.equal(up.uploaded, 20_000)
})

test('a reader failure rejects that request (BEP 6) and is reported as a StorageError; the rest is served', async () => {
  const conn = new FakeConn(100)
  const reader = { read: async (index: number, begin: number, length: number) => { if (index === 1) throw new Error('EIO'); return DATA.subarray(begin, begin + length) } }
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY })
  const errors: Error[] = []
  up.on('read-error', (e) => { errors.push(e) })
  up.unchoke()
  up.onMessage({ type: 'request', index: 1, begin: 0, length: 10 })
  up.onMessage({ type: 'request', index: 0, begin: 0, length: 10 })
  for (let i = 0; i < 5; i++) await settle()
  assert.deepEqual(conn.sent.map(m => m.type), ['unchoke', 'reject', 'piece'])
  assert.equal(errors.length, 1)
  assert.match(errors[0]?.message ?? '', /cannot read piece 1 0\+10: EIO/)
})

test('BEP 6 reject: block lengths of 0 or more than 16 KiB are refused (our wire parser already closes on them; the uploader checks anyway)', () => {
  const conn = new FakeConn(100)
  const up = new Uploader(conn, { reader: new MemoryReader(DATA, PIECE_LENGTH), have: haveAllBut2(), geometry: GEOMETRY })
  up.unchoke()
  up.onMessage({ type: 'request', index: 0, begin: 0, length: 0 })
  up.onMessage({ type: 'request', index: 0, begin: 0, length: KiB16 + 1 })
  assert.deepEqual(conn.sent, [{ type: 'unchoke' }, { type: 'reject', index: 0, begin: 0, length: 0 }, { type: 'reject', index: 0, begin: 0, length: KiB16 + 1 }])
  assert.equal(up.refused['bad length'], 2)
  assert.equal(up.pending, 0)
})

test('BEP 3 without BEP 6: a request dropped for want of room is not lost: once what we held is served we choke then unchoke, so the peer asks again', async () => {
  const conn = new FakeConn(100)
  conn.fastEnabled = false
  const up = new Uploader(conn, { reader: new MemoryReader(DATA, PIECE_LENGTH), have: haveAllBut2(), geometry: GEOMETRY, maxQueued: 3 })
  up.unchoke()
  for (let i = 0; i < 5; i++) up.onMessage({ type: 'request', index: 0, begin: i * 1000, length: 1000 })
  assert.equal(up.refused['queue full'], 2)
  for (let i = 0; i < 10; i++) await settle()
  // BEP 3: "When a peer is choked, all pending requests are discarded": the two it lost included.
  assert.deepEqual(conn.sent.map(m => m.type === 'piece' ? `piece ${m.begin}` : m.type), ['unchoke', 'piece 0', 'piece 1000', 'piece 2000', 'choke', 'unchoke'])
  assert.equal(conn.amChoking, false)
  // It asks again for the two, and gets them; with nothing lost, no further choke.
  for (let i = 3; i < 5; i++) up.onMessage({ type: 'request', index: 0, begin: i * 1000, length: 1000 })
  for (let i = 0; i < 10; i++) await settle()
  assert.deepEqual(conn.sent.slice(6).map(m => m.type === 'piece' ? `piece ${m.begin}` : m.type), ['piece 3000', 'piece 4000'])
})

test('BEP 3 without BEP 6: a full queue is a strike only while the peer does not read what we sent (we wait for drain)', async () => {
  const conn = new FakeConn(1)
  conn.fastEnabled = false
  const up = new Uploader(conn, { reader: new MemoryReader(DATA, PIECE_LENGTH), have: haveAllBut2(), geometry: GEOMETRY, maxQueued: 4, floodLimit: 10, maxReading: 1 })
  up.unchoke()
  // Reading: 20 requests past the queue are dropped, no strike (rtorrent's burst).
  for (let i = 0; i < 24; i++) up.onMessage({ type: 'request', index: 0, begin: i * 100, length: 100 })
  assert.equal(up.refused['queue full'], 20)
  for (let i = 0; i < 5; i++) await settle()
  // The first piece() said "wait for drain": the peer is not reading. 3 held, room for one more,
  // then 11 past the queue: strikes, past floodLimit (10) it is dropped.
  assert.equal(conn.sent.filter(m => m.type === 'piece').length, 1)
  assert.equal(up.pending, 3)
  let closed = false
  conn.on('close', () => { closed = true })
  for (let i = 0; i < 11; i++) up.onMessage({ type: 'request', index: 1, begin: i * 100, length: 100 })
  assert.equal(closed, false)
  up.onMessage({ type: 'request', index: 1, begin: 1100, length: 100 })
  assert.equal(closed, true, 'past floodLimit strikes while not reading')
})

/** A reader with blocks in memory (readNow) for pieces in `inMemory`; the rest only through read(). */
class NowReader extends MemoryReader {
  nowAnswers = 0
  hints: string[] = []
  constructor (readonly memoryPieces: Set<number>) { super(DATA, PIECE_LENGTH) }
  inMemory (index: number): boolean { return this.memoryPieces.has(index) }
  readNow (index: number, begin: number, length: number): Uint8Array | undefined {
    if (!this.memoryPieces.has(index)) return undefined
    this.nowAnswers++
    const start = index * PIECE_LENGTH + begin
    return DATA.subarray(start, start + length)
  }

  prefetch (index: number, begin: number): void { this.hints.push(`${index}/${begin}`) }
}

test('blocks the reader holds in memory (readNow) are written at once, in the order asked, with no read() and no turn of the event loop', () => {
  const reader = new NowReader(new Set([0, 1, 3]))
  const conn = new FakeConn(100)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY })
  up.unchoke()
  const asks: Array<[number, number]> = [[0, 0], [0, 16384], [1, 0], [3, 16384], [1, 16384]]
  for (const [i, b] of asks) up.onMessage({ type: 'request', index: i, begin: b, length: 1000 })
  // Synchronously: nothing awaited.
  assert.deepEqual(conn.sent.filter(m => m.type === 'piece').map(m => m.type === 'piece' ? `${m.index}/${m.begin}` : ''), asks.map(([i, b]) => `${i}/${b}`))
  assert.equal(reader.reads, 0)
  assert.equal(reader.nowAnswers, 5)
  assert.equal(up.uploaded, 5000)
})

test('replies stay in order when a block must be read (BEP 3 piece): the blocks in memory behind it wait for it, then go by readNow, not each by a read() of its own', async () => {
  const reader = new NowReader(new Set([0, 1]))
  const conn = new FakeConn(100)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY })
  up.unchoke()
  const asks: Array<[number, number]> = [[0, 0], [4, 0], [1, 0], [1, 16384]]
  for (const [i, b] of asks) up.onMessage({ type: 'request', index: i, begin: b, length: 1000 })
  assert.equal(up.pending, 3, 'piece 4 is being read; the two behind it wait, held')
  for (let i = 0; i < 5; i++) await settle()
  assert.deepEqual(conn.sent.filter(m => m.type === 'piece').map(m => m.type === 'piece' ? `${m.index}/${m.begin}` : ''), asks.map(([i, b]) => `${i}/${b}`))
  assert.equal(reader.reads, 1, 'only piece 4 went through read()')
  assert.equal(reader.nowAnswers, 3)
})

test('a cancel takes out a held reply that was not written yet (BEP 6: rejected), and backpressure holds the rest: no readNow past piece() === false', () => {
  const reader = new NowReader(new Set([0, 1, 3, 4]))
  const conn = new FakeConn(2)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY })
  up.unchoke()
  for (let i = 0; i < 6; i++) up.onMessage({ type: 'request', index: 0, begin: i * 1000, length: 1000 })
  assert.equal(conn.sent.filter(m => m.type === 'piece').length, 2, 'the second piece() said false')
  assert.equal(reader.nowAnswers, 2)
  up.onMessage({ type: 'cancel', index: 0, begin: 3000, length: 1000 })
  assert.deepEqual(conn.sent.at(-1), { type: 'reject', index: 0, begin: 3000, length: 1000 })
  conn.room = 100
  conn.emit('drain')
  assert.deepEqual(conn.sent.filter(m => m.type === 'piece').map(m => m.type === 'piece' ? m.begin : -1), [0, 1000, 2000, 4000, 5000])
})

test('a request 32 places behind the one being answered is announced to the reader (prefetch), so its chunk can be read before its turn', () => {
  const reader = new NowReader(new Set())
  const conn = new FakeConn(1000)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY, maxReading: 1 })
  // Choked while the requests arrive would refuse them: unchoke, then queue 40 behind a read in flight.
  up.unchoke()
  for (let i = 0; i < 40; i++) up.onMessage({ type: 'request', index: i < 20 ? 3 : 4, begin: (i % 20) * 500, length: 500 })
  // The first request started its read at once, with fewer than 32 behind it: no hint yet.
  assert.deepEqual(reader.hints, [])
  return (async () => {
    for (let i = 0; i < 10; i++) await settle()
    // Each later read hinted the request 32 places behind it: 4/6000 (the 34th request) first.
    assert.equal(reader.hints[0], `4/${13 * 500}`)
    assert.ok(reader.hints.length >= 7)
  })()
})

/** Lends each block as a view into a buffer of its own (as the read-ahead's chunks) and counts releases. */
class LendingReader extends MemoryReader {
  lent: Uint8Array[] = []
  released: Uint8Array[] = []
  /** Blocks of this piece come back one byte short (a storage bug). */
  shortPiece = -1
  constructor () { super(DATA, PIECE_LENGTH) }
  private lend (index: number, begin: number, length: number): Uint8Array {
    const chunk = new Uint8Array(4 * PIECE_LENGTH)
    const start = index * PIECE_LENGTH + begin
    chunk.set(DATA.subarray(start, start + length))
    const block = chunk.subarray(0, index === this.shortPiece ? length - 1 : length)
    this.lent.push(block)
    return block
  }

  readNow (index: number, begin: number, length: number): Uint8Array | undefined { return index === 4 ? undefined : this.lend(index, begin, length) }
  override async read (index: number, begin: number, length: number): Promise<Uint8Array> { this.reads++; return this.lend(index, begin, length) }
  release (block: Uint8Array): void {
    assert.ok(this.lent.includes(block), 'only blocks the reader lent')
    assert.ok(!this.released.includes(block), 'released once')
    this.released.push(block)
  }
}

/** Keeps each piece's `sent` callback: the test plays the socket that wrote the bytes. */
class SentConn extends FakeConn {
  callbacks: Array<(() => void) | undefined> = []
  override piece (index: number, begin: number, block: Uint8Array, sent?: () => void): boolean {
    this.callbacks.push(sent)
    return super.piece(index, begin, block)
  }
}

test('read-ahead buffers come back (BEP 3 piece): a block lent by the reader is released exactly once, only after the connection says the socket wrote it; a copied, dropped or short block at once', async () => {
  const reader = new LendingReader()
  const conn = new SentConn(1000)
  const up = new Uploader(conn, { reader, have: haveAllBut2(), geometry: GEOMETRY })
  up.unchoke()
  up.onMessage({ type: 'request', index: 0, begin: 0, length: 1000 })
  up.onMessage({ type: 'request', index: 1, begin: 0, length: 1000 })
  assert.equal(conn.callbacks.length, 2)
  assert.equal(reader.released.length, 0, 'nothing released while the socket may hold the bytes')
  conn.callbacks[1]?.()
  assert.deepEqual(reader.released, [reader.lent[1]])
  conn.callbacks[0]?.()
  assert.deepEqual(reader.released, [reader.lent[1], reader.lent[0]])

  // Past the pin window's 8 chunks a block goes out as a copy: its view is released at once.
  for (let i = 1; i <= 8; i++) up.onMessage({ type: 'request', index: 3, begin: i * 500, length: 500 })
  const copied = conn.sent.at(-1)
  assert.ok(copied?.type === 'piece' && copied.block !== reader.lent.at(-1), 'the last one is a copy')
  assert.equal(conn.callbacks.at(-1), undefined, 'a copy is no reader\'s buffer: no callback')
  assert.ok(reader.released.includes(reader.lent.at(-1) as Uint8Array))

  // A block read for a request the choke answered meanwhile, and a short block: released at once.
  const before = reader.released.length
  up.onMessage({ type: 'request', index: 4, begin: 0, length: 1000 })
  up.choke()
  await settle()
  assert.equal(reader.released.length, before + 1, 'dropped after the choke')
  reader.shortPiece = 1
  up.unchoke()
  up.onMessage({ type: 'request', index: 1, begin: 5000, length: 1000 })
  assert.equal(reader.released.length, before + 2, 'short: refused and released')
  for (const cb of conn.callbacks.slice(2)) cb?.() // the first two were called above
  assert.equal(reader.released.length, reader.lent.length, 'every lent block released')
})
