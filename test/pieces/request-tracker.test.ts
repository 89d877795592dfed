import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PiecePicker } from '../../lib/pieces/piece-picker.js'
import { RequestTracker } from '../../lib/pieces/request-tracker.js'
import { BLOCK_LENGTH } from '../../lib/pieces/active-piece.js'

class FakePeer {
  constructor (readonly name: string, private readonly pieces?: number[]) {}
  has (i: number): boolean { return this.pieces === undefined || this.pieces.includes(i) }
}

function setup (pieceCount = 4, pieceLength = 4 * BLOCK_LENGTH, lastPieceLength = pieceLength, windowPieces?: number) {
  const picker = new PiecePicker({ pieceCount, windowPieces, urgentPieces: 1 })
  const tracker = new RequestTracker<FakePeer>(picker, { pieceCount, pieceLength, lastPieceLength })
  return { picker, tracker }
}
const at = { staleMs: 1000, now: 0 }

test('requests are 16 KiB blocks; the last block of the last piece is shorter (BEP 3 request)', () => {
  const { tracker } = setup(2, 2 * BLOCK_LENGTH, BLOCK_LENGTH + 100)
  const reqs = tracker.fill(new FakePeer('a'), 10, at)
  assert.deepEqual(reqs.map(r => [r.index, r.begin, r.length]), [
    [0, 0, BLOCK_LENGTH], [0, BLOCK_LENGTH, BLOCK_LENGTH], [1, 0, BLOCK_LENGTH], [1, BLOCK_LENGTH, 100]
  ])
})

test('two peers are given different blocks until everything is requested', () => {
  const { tracker } = setup()
  const a = new FakePeer('a'); const b = new FakePeer('b')
  const ra = tracker.fill(a, 6, at)
  const rb = tracker.fill(b, 6, at)
  const key = (r: { index: number, begin: number }) => `${r.index}:${r.begin}`
  const seen = new Set(ra.map(key))
  for (const r of rb) assert.equal(seen.has(key(r)), false)
  assert.equal(tracker.outstandingCount(a), 6)
})

test('endgame: once every block is requested, a second peer duplicates, at most two holders, cancels on arrival', () => {
  const { tracker } = setup(1, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b'); const c = new FakePeer('c')
  assert.equal(tracker.fill(a, 10, at).length, 2)
  const dup = tracker.fill(b, 10, at)
  assert.equal(dup.length, 2, 'b duplicates both blocks')
  assert.equal(tracker.fill(c, 10, at).length, 0, 'no third holder')
  const r = tracker.receive(b, 0, 0, new Uint8Array(BLOCK_LENGTH))
  assert.ok(r.accepted)
  assert.deepEqual(r.cancels, [a])
  assert.equal(tracker.outstandingCount(a), 1)
})

test('a full window is not endgame: nothing is duplicated while pieces remain unstarted', () => {
  const { tracker, picker } = setup(8, 2 * BLOCK_LENGTH, 2 * BLOCK_LENGTH, 2)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  assert.equal(tracker.fill(a, 100, at).length, 4, 'the two pieces of the window')
  assert.equal(picker.endgame, false)
  assert.equal(tracker.fill(b, 100, at).length, 0, 'b waits for the window to move')
})

test('a choke releases the peer\'s requests to the pool', () => {
  const { tracker } = setup(1, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  tracker.fill(a, 10, at)
  assert.equal(tracker.release(a).length, 2)
  assert.equal(tracker.outstandingCount(a), 0)
  const again = tracker.fill(b, 10, at)
  assert.equal(again.length, 2)
})

test('a block held too long at the head of the output is asked of a faster peer', () => {
  const { tracker } = setup(8, 2 * BLOCK_LENGTH, 2 * BLOCK_LENGTH, 8)
  const slow = new FakePeer('slow'); const fast = new FakePeer('fast')
  tracker.fill(slow, 2, { staleMs: 1000, now: 0 }) // the whole of piece 0
  const early = tracker.fill(fast, 2, { staleMs: 1000, now: 500 })
  assert.deepEqual(early.map(r => r.index), [1, 1], 'not stale yet: fast takes the next piece')
  const late = tracker.fill(fast, 2, { staleMs: 1000, now: 2000 })
  assert.deepEqual(late.map(r => [r.index, r.begin]), [[0, 0], [0, BLOCK_LENGTH]])
})

test('blocks of the wrong length or offset, or for pieces not started, are refused', () => {
  const { tracker } = setup()
  const a = new FakePeer('a')
  tracker.fill(a, 1, at)
  assert.deepEqual(tracker.receive(a, 3, 0, new Uint8Array(BLOCK_LENGTH)), { accepted: false, reason: 'not-active' })
  assert.deepEqual(tracker.receive(a, 0, 5, new Uint8Array(BLOCK_LENGTH)), { accepted: false, reason: 'bad-offset' })
  assert.deepEqual(tracker.receive(a, 0, 0, new Uint8Array(10)), { accepted: false, reason: 'bad-length' })
})

test('a completed piece is returned whole; a failed hash blames each sender and frees the piece', () => {
  const { tracker, picker } = setup(1, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  tracker.fill(a, 1, at); tracker.fill(b, 1, at)
  assert.equal(tracker.receive(a, 0, 0, new Uint8Array(BLOCK_LENGTH).fill(1)).accepted, true)
  const r = tracker.receive(b, 0, BLOCK_LENGTH, new Uint8Array(BLOCK_LENGTH).fill(2))
  assert.ok(r.accepted && r.piece !== undefined)
  assert.equal(r.piece.buffer[0], 1)
  assert.equal(r.piece.buffer[BLOCK_LENGTH], 2)
  const blame = tracker.pieceFailed(r.piece)
  assert.deepEqual([...blame.entries()].map(([p, n]) => [p.name, n]), [['a', 1], ['b', 1]])
  assert.equal(picker.pick(a), 0)
})

test('timeouts name the requests a peer held too long; releaseOne frees one (BEP 6 reject)', () => {
  const { tracker } = setup()
  const a = new FakePeer('a')
  tracker.fill(a, 2, { staleMs: 1000, now: 0 })
  assert.equal(tracker.expired(a, 100, 1000).length, 0)
  const late = tracker.expired(a, 5000, 1000)
  assert.equal(late.length, 2)
  assert.equal(tracker.releaseOne(a, late[0]!.index, late[0]!.begin), true)
  assert.equal(tracker.releaseOne(a, late[0]!.index, late[0]!.begin), false)
  assert.equal(tracker.outstandingCount(a), 1)
})

test('parole: a piece that failed with blocks from two peers is refetched from one peer alone, even in endgame', () => {
  const { tracker } = setup(1, 4 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  const ra = tracker.fill(a, 2, at)
  const rb = tracker.fill(b, 2, at)
  let complete
  for (const r of ra) tracker.receive(a, r.index, r.begin, new Uint8Array(r.length))
  for (const r of rb) complete = tracker.receive(b, r.index, r.begin, new Uint8Array(r.length))
  assert.ok(complete?.accepted === true && complete.piece !== undefined)
  assert.equal(tracker.pieceFailed(complete.piece).size, 2, 'both sent blocks of the failed copy')
  // The next copy: the first peer asked owns it; the other is given nothing of it, not even
  // duplicates once every block is requested (endgame).
  assert.equal(tracker.fill(b, 2, at).length, 2)
  assert.deepEqual(tracker.fill(a, 4, at), [])
  assert.equal(tracker.fill(b, 4, at).length, 2, 'the owner takes the rest')
  // The owner chokes us: the piece may go to another peer.
  tracker.release(b)
  assert.equal(tracker.fill(a, 4, at).length, 4)
})

test('parole ends: a piece that failed with one sender is shared again when refetched', () => {
  const { tracker } = setup(1, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  const reqs = tracker.fill(a, 2, at)
  let complete
  for (const r of reqs) complete = tracker.receive(a, r.index, r.begin, new Uint8Array(r.length))
  assert.ok(complete?.accepted === true && complete.piece !== undefined)
  tracker.pieceFailed(complete.piece)
  assert.equal(tracker.fill(a, 1, at).length, 1)
  assert.equal(tracker.fill(b, 1, at).length, 1, 'not exclusive: the second peer gets a block')
})

test('the output\'s head: a late block of any head piece, not only the cursor\'s, is asked of a second peer at once; past the head it is not', () => {
  const { tracker } = setup(8, 2 * BLOCK_LENGTH, 2 * BLOCK_LENGTH, 8)
  const slow = new FakePeer('slow'); const fast = new FakePeer('fast')
  tracker.fill(slow, 8, { staleMs: 1000, now: 0 }) // pieces 0..3, every block of them
  // The engine's judgement (head-of-line.ts): slow will deliver later than fast would.
  const head = { end: 2, late: (holder: FakePeer) => holder === slow }
  const rescue = tracker.fill(fast, 8, { staleMs: 1000, now: 10, head })
  assert.deepEqual(rescue.slice(0, 6).map(r => r.index), [0, 0, 1, 1, 2, 2], 'pieces 0..2 duplicated at 10 ms, long before staleMs')
  assert.ok(!rescue.some(r => r.index === 3 && r.begin === 0), 'piece 3 is past the head: not duplicated')
  // The first copy wins; the slow peer's request is cancelled.
  const r = tracker.receive(fast, 1, 0, new Uint8Array(BLOCK_LENGTH))
  assert.ok(r.accepted)
  assert.deepEqual(r.cancels.map(p => p.name), ['slow'])
  // A holder that is on time keeps its blocks to itself.
  const { tracker: t2 } = setup(8, 2 * BLOCK_LENGTH, 2 * BLOCK_LENGTH, 8)
  t2.fill(slow, 4, { staleMs: 1000, now: 0 })
  const onTime = t2.fill(fast, 4, { staleMs: 1000, now: 10, head: { end: 2, late: () => false } })
  assert.deepEqual(onTime.map(r => r.index), [2, 2, 3, 3], 'nothing duplicated: new pieces instead')
})

test('blocks a choke or reject gave back are asked for again lowest piece first, among many fully requested pieces', () => {
  // BEP 3: a choke discards the peer's requests; the tracker keeps an index of the pieces with
  // blocks nobody holds, so the fill per arriving block does not walk every active piece.
  const { tracker } = setup(64, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b'); const c = new FakePeer('c')
  assert.equal(tracker.fill(a, 40, at).length, 40, 'pieces 0-19 requested from a')
  assert.equal(tracker.fill(b, 40, at).length, 40, 'pieces 20-39 requested from b')
  assert.ok(tracker.releaseOne(b, 31, BLOCK_LENGTH), 'b rejects one block of piece 31')
  tracker.release(a)
  assert.ok(tracker.receive(b, 20, 0, new Uint8Array(BLOCK_LENGTH)).accepted, 'a block that arrives does not reopen its piece')
  const again = tracker.fill(c, 41, at)
  assert.deepEqual(again.slice(0, 40).map(r => r.index), Array.from({ length: 40 }, (_, i) => i >> 1), 'a\'s pieces first, in order')
  assert.deepEqual([again[40]!.index, again[40]!.begin], [31, BLOCK_LENGTH], 'then the rejected block')
  assert.deepEqual(tracker.fill(c, 2, at).map(r => r.index), [40, 40], 'then a new piece: nothing else was left open')
})

test('setMaxActive: a lowered budget starts no piece while as many are active (started ones keep theirs); a raised one starts more', () => {
  const { tracker } = setup(8, 2 * BLOCK_LENGTH)
  const a = new FakePeer('a')
  tracker.setMaxActive(2)
  assert.deepEqual([...new Set(tracker.fill(a, 100, at).map(r => r.index))].sort(), [0, 1])
  tracker.setMaxActive(1)
  assert.equal(tracker.fill(a, 100, at).length, 0)
  assert.equal(tracker.activeCount, 2, 'lowering the budget drops no started piece')
  tracker.setMaxActive(3)
  assert.equal(new Set(tracker.fill(a, 100, at).map(r => r.index)).size, 1, 'one piece more')
})

test('a peer\'s outstanding count is the number of blocks it holds, through endgame, late copies, rejects, timeouts, chokes and a failed hash', () => {
  const { tracker } = setup(2, 4 * BLOCK_LENGTH)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  const held = (p: FakePeer): number => tracker.pieces().reduce((n, piece) => {
    for (let blk = 0; blk < piece.blockCount; blk++) if (piece.holdsBlock(blk, p)) n++
    return n
  }, 0)
  const check = (what: string): void => {
    assert.equal(tracker.outstandingCount(a), held(a), `a after ${what}`)
    assert.equal(tracker.outstandingCount(b), held(b), `b after ${what}`)
  }
  assert.equal(tracker.fill(a, 8, at).length, 8)
  assert.equal(tracker.fill(b, 8, at).length, 8, 'endgame: b duplicates every block')
  check('endgame')
  assert.equal(tracker.receive(b, 0, 0, new Uint8Array(BLOCK_LENGTH)).accepted, true)
  check('a block both held, from b')
  assert.equal(tracker.receive(a, 0, 0, new Uint8Array(BLOCK_LENGTH)).accepted, false, 'the late copy from a')
  check('the late copy')
  assert.equal(tracker.releaseOne(a, 0, BLOCK_LENGTH), true)
  check('a reject')
  const late = tracker.expired(b, 5000, 1000)
  assert.equal(late.length, 7)
  for (const r of late.slice(0, 3)) tracker.releaseOne(b, r.index, r.begin)
  check('timeouts')
  for (const blk of [1, 2, 3]) tracker.receive(b, 0, blk * BLOCK_LENGTH, new Uint8Array(BLOCK_LENGTH))
  const piece0 = tracker.activePiece(0)!
  assert.equal(piece0.complete, true)
  tracker.pieceFailed(piece0)
  check('a failed hash')
  tracker.release(a)
  check('a choke')
  assert.equal(tracker.outstandingCount(a), 0)
  assert.equal(tracker.outstandingCount(b), held(b))
  assert.ok(held(b) > 0, 'b still holds blocks of piece 1')
})

test('a verified piece given back is reused whole for the next piece: every block missing, nobody holding or credited; never twice, never while active', () => {
  const { tracker } = setup(5, 2 * BLOCK_LENGTH, BLOCK_LENGTH + 5)
  const a = new FakePeer('a'); const b = new FakePeer('b')
  assert.deepEqual(tracker.fill(a, 2, at).map(r => r.index), [0, 0])
  assert.deepEqual(tracker.fill(b, 2, at).map(r => r.index), [1, 1])
  const first = tracker.activePiece(0)!
  tracker.recycle(first)
  assert.equal(tracker.activePiece(0), first, 'an active piece is not taken back')
  tracker.receive(a, 0, 0, new Uint8Array(BLOCK_LENGTH))
  const r = tracker.receive(a, 0, BLOCK_LENGTH, new Uint8Array(BLOCK_LENGTH))
  assert.ok(r.accepted && r.piece === first)
  tracker.pieceVerified(first)
  tracker.recycle(first)
  assert.equal(first.buffer.byteLength, 0, 'a spare keeps no piece memory')
  assert.deepEqual([...first.senders], [undefined, undefined], 'nor its senders')
  tracker.recycle(first)
  // Pieces 2 and 3 have as many blocks: the first gets the object back, clean; the second, a new
  // one (the second recycle left no copy). Piece 4 (one block) would not fit a spare.
  assert.deepEqual(tracker.fill(a, 4, at).map(r => [r.index, r.begin / BLOCK_LENGTH]), [[2, 0], [2, 1], [3, 0], [3, 1]])
  const second = tracker.activePiece(2)!
  assert.equal(second, first)
  assert.equal(second.index, 2)
  assert.equal(second.received, 0)
  assert.deepEqual([...second.senders], [undefined, undefined])
  assert.deepEqual(second.holders.map(h => h?.length ?? 0), [1, 1], 'only the new requests')
  assert.equal(second.holdsBlock(0, a), true)
  assert.notEqual(tracker.activePiece(3), first)
  assert.equal(tracker.outstandingCount(a), 4)
  assert.equal(tracker.outstandingCount(b), 2)
})
