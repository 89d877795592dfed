import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PiecePicker, PieceState } from '../../lib/pieces/piece-picker.js'

const all = { has: () => true }
const only = (...ix: number[]) => ({ has: (i: number) => ix.includes(i) })

test('without a window the rarest piece is picked first (BEP 3 "rarest first")', () => {
  const p = new PiecePicker({ pieceCount: 5 })
  p.addBitfield(only(0, 1, 2, 4))
  p.addBitfield(only(0, 1, 4))
  p.addSeed()
  // availabilities: 0:3 1:3 2:2 3:1 4:3
  assert.equal(p.pick(all), 3)
  p.start(3)
  assert.equal(p.pick(all), 2)
  assert.equal(p.pick(only(0, 4)), 0, 'ties go to the lowest index')
})

test('a peer is only asked for pieces it has; -1 when it has nothing we want', () => {
  const p = new PiecePicker({ pieceCount: 4 })
  assert.equal(p.pick(only(2)), 2)
  p.start(2)
  assert.equal(p.pick(only(2)), -1)
  assert.equal(p.interestedIn(only(2)), true, 'an active piece still interests us')
  p.finish(2)
  assert.equal(p.interestedIn(only(2)), false)
})

test('with a window, the urgent head comes in order and nothing past the window is started', () => {
  const p = new PiecePicker({ pieceCount: 100, windowPieces: 4, urgentPieces: 2 })
  p.addBitfield(only(3)) // piece 3 is commoner than 2: rarest-first picks 2 after the head
  const picked: number[] = []
  for (let i = 0; i < 10; i++) {
    const n = p.pick(all)
    if (n === -1) break
    p.start(n)
    picked.push(n)
  }
  assert.deepEqual(picked, [0, 1, 2, 3])
  assert.equal(p.inWindow(4), false)
})

test('the window slides with the sink anchor, not with verification alone', () => {
  const p = new PiecePicker({ pieceCount: 10, windowPieces: 2, urgentPieces: 1 })
  p.start(0); p.start(1)
  p.finish(0); p.finish(1)
  assert.equal(p.cursor, 2)
  assert.equal(p.pick(all), -1, 'pieces 0 and 1 still wait in the sink: no new piece')
  p.setAnchor(1)
  assert.equal(p.pick(all), 2)
})

test('a selection (--file) leaves other pieces untouched', () => {
  const p = new PiecePicker({ pieceCount: 10, first: 3, last: 5 })
  assert.equal(p.state[2], PieceState.skip)
  assert.equal(p.piecesLeft, 3)
  assert.equal(p.pick(only(0, 1, 2, 9)), -1)
  for (const i of [3, 4, 5]) { p.start(i); p.finish(i) }
  assert.equal(p.complete, true)
  assert.equal(p.cursor, 6)
})

test('a failed piece goes back to missing and can be picked again', () => {
  const p = new PiecePicker({ pieceCount: 2 })
  p.start(0)
  p.reset(0)
  assert.equal(p.pick(all), 0)
  assert.throws(() => p.finish(1 + 5), /cannot finish/)
})

test('pieces started out of order: the search skips what is started or done, and a piece reset behind them is found again', () => {
  const p = new PiecePicker({ pieceCount: 8, windowPieces: 6, urgentPieces: 1 })
  p.addSeed()
  for (const i of [0, 1, 3, 2, 4]) { assert.equal(p.pick(only(i)), i); p.start(i) }
  assert.equal(p.pick(all), 5, 'the one missing piece of the window')
  p.start(5)
  assert.equal(p.pick(all), -1, 'a full window starts nothing')
  p.finish(1)
  p.reset(3)
  assert.equal(p.pick(all), 3, 'a failed piece behind the started ones (BEP 3: fetched again)')
  p.start(3)
  p.finish(0)
  assert.equal(p.pick(all), -1, 'piece 0 waits in the sink')
  p.setAnchor(1)
  assert.equal(p.pick(all), 6, 'the window slid by one')
  // Among seeds every piece ties: the lowest missing one the peer has.
  assert.equal(p.pick(only(7)), -1, 'outside the window')
  assert.equal(p.pick(only(6, 7)), 6)
})
