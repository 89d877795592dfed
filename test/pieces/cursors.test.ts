/**
 * Readers' cursors in the picker and the tracker (issue 15: one engine, several readers): the
 * pieces at a reader come first, the most recent seek first, rarest-first stays inside each
 * reader's window, a reader that left is no longer urgent, and a seek preempts queued requests.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PiecePicker } from '../../lib/pieces/piece-picker.js'
import { RequestTracker } from '../../lib/pieces/request-tracker.js'
import { BLOCK_LENGTH } from '../../lib/pieces/active-piece.js'

const all = { has: () => true }
const only = (...ix: number[]) => ({ has: (i: number) => ix.includes(i) })

function drain (p: PiecePicker, n: number, source = all): number[] {
  const picked: number[] = []
  for (let i = 0; i < n; i++) {
    const x = p.pick(source)
    if (x === -1) break
    p.start(x)
    picked.push(x)
  }
  return picked
}

test('a cursor\'s urgent pieces come in order, then the rarest inside its window, then rarest-first everywhere', () => {
  const p = new PiecePicker({ pieceCount: 100 })
  // 52 is commoner than 53: rarest-first inside the window takes 53 first
  p.addBitfield(only(52, 53))
  p.addBitfield(only(52, 53))
  p.addBitfield(only(52))
  p.addCursor(50, 4, 2)
  assert.deepEqual(drain(p, 4), [50, 51, 53, 52])
  assert.equal(p.pick(all), 0, 'outside every window: the picker\'s own order (rarest, lowest index)')
  assert.equal(p.pick(only(52, 53, 54)), 54, 'and only pieces the peer has')
})

test('the most recently moved cursor is served first (a fresh seek is what the user waits for)', () => {
  const p = new PiecePicker({ pieceCount: 100 })
  const a = p.addCursor(10, 2, 2)
  p.addCursor(40, 2, 2)
  assert.equal(p.pick(all), 40, 'the newer cursor first')
  a.move(70)
  assert.deepEqual(drain(p, 4), [70, 71, 40, 41])
  assert.deepEqual(p.urgent(), [70, 71, 40, 41], 'active pieces stay urgent until done')
  p.finish(70)
  assert.deepEqual(p.urgent(), [71, 40, 41])
})

test('a removed cursor\'s pieces are no longer urgent, and its window no longer preferred', () => {
  const p = new PiecePicker({ pieceCount: 100 })
  const c = p.addCursor(60, 8, 2)
  assert.equal(p.isUrgent(60), true)
  c.remove()
  c.remove() // idempotent
  c.move(5) // a removed cursor cannot come back
  assert.equal(p.isUrgent(60), false)
  assert.equal(p.cursorCount, 0)
  assert.equal(p.pick(all), 0)
})

test('a cursor is clamped to the wanted pieces; done and skipped pieces are not picked', () => {
  const p = new PiecePicker({ pieceCount: 10, first: 2, last: 7 })
  const c = p.addCursor(9, 4, 2)
  assert.equal(c.piece, 7)
  p.finish(7)
  assert.equal(p.pick(all), 2)
  c.move(0)
  assert.equal(c.piece, 2)
})

class FakePeer {
  constructor (readonly name: string) {}
  has (): boolean { return true }
}

test('the tracker starts a reader\'s urgent piece before the blocks of older started pieces, beyond the active budget', () => {
  const pieceLength = 4 * BLOCK_LENGTH
  const picker = new PiecePicker({ pieceCount: 50 })
  const tracker = new RequestTracker<FakePeer>(picker, { pieceCount: 50, pieceLength, lastPieceLength: pieceLength }, 2)
  const a = new FakePeer('a')
  const first = tracker.fill(a, 2, { staleMs: 1000, now: 0 })
  assert.deepEqual(first.map(r => r.index), [0, 0])
  tracker.fill(a, 4, { staleMs: 1000, now: 0 }) // pieces 0 and 1 active: the budget of 2 is spent
  assert.equal(tracker.activeCount, 2)
  picker.addCursor(30, 4, 2)
  const next = tracker.fill(a, 10, { staleMs: 1000, now: 0 })
  assert.deepEqual(next.slice(0, 8).map(r => r.index), [30, 30, 30, 30, 31, 31, 31, 31], 'the seek\'s pieces first')
  assert.equal(tracker.activeCount, 4, 'urgent pieces start although the budget was spent')
})

test('a seek preempts the peer\'s queued requests outside the urgent pieces, keeping the oldest', () => {
  const pieceLength = 4 * BLOCK_LENGTH
  const picker = new PiecePicker({ pieceCount: 50 })
  const tracker = new RequestTracker<FakePeer>(picker, { pieceCount: 50, pieceLength, lastPieceLength: pieceLength })
  const a = new FakePeer('a')
  for (let t = 0; t < 8; t++) tracker.fill(a, 1, { staleMs: 1000, now: t })
  assert.equal(tracker.outstandingCount(a), 8)
  picker.addCursor(40, 2, 2)
  const cancels = tracker.preempt(a, 2)
  assert.equal(cancels.length, 6)
  assert.equal(tracker.outstandingCount(a), 2)
  assert.deepEqual(cancels.map(r => r.begin / BLOCK_LENGTH), [2, 3, 0, 1, 2, 3], 'the newest requests go, the two oldest stay')
  const next = tracker.fill(a, 4, { staleMs: 1000, now: 10 })
  assert.deepEqual(next.map(r => r.index), [40, 40, 40, 40])
})

test('after the urgent pieces, a reader\'s window comes before pieces started for no reader', () => {
  const pieceLength = 2 * BLOCK_LENGTH
  const picker = new PiecePicker({ pieceCount: 50 })
  const tracker = new RequestTracker<FakePeer>(picker, { pieceCount: 50, pieceLength, lastPieceLength: pieceLength })
  const a = new FakePeer('a')
  const b = new FakePeer('b')
  tracker.fill(a, 4, { staleMs: 1000, now: 0 }) // pieces 0 and 1, all of their blocks held by a
  tracker.release(a) // a choked us: 0 and 1 are started, nothing requested
  picker.addCursor(20, 4, 1)
  const next = tracker.fill(b, 8, { staleMs: 1000, now: 0 })
  assert.deepEqual(next.map(r => r.index), [20, 20, 21, 21, 22, 22, 23, 23], 'the urgent piece, then the window, then 0 and 1')
  assert.deepEqual(tracker.fill(b, 4, { staleMs: 1000, now: 0 }).map(r => r.index), [0, 0, 1, 1])
})
