/**
 * The Range header, case by case (RFC 9110 section 14.1 for the syntax, 14.2 for what a server
 * does with it, 15.3.7 and 15.5.17 for the Content-Range it answers with).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { contentRange, MAX_RANGE_SPECS, parseRange, unsatisfiedRange } from '../../lib/serve/range.js'

const L = 10_000
const part = (start: number, end: number) => ({ type: 'partial', start, end })
const full = { type: 'full' }
const none = { type: 'unsatisfiable' }

test('no Range header: the whole representation (14.2)', () => {
  assert.deepEqual(parseRange(undefined, L), full)
})

test('int-range first-last, both inclusive (14.1.2: "bytes=0-499" is the first 500 bytes)', () => {
  assert.deepEqual(parseRange('bytes=0-499', L), part(0, 500))
  assert.deepEqual(parseRange('bytes=500-999', L), part(500, 1000))
  assert.deepEqual(parseRange('bytes=9999-9999', L), part(9999, 10_000), 'the last byte alone')
})

test('int-range without last-pos: to the end (14.1.2 "bytes=9500-")', () => {
  assert.deepEqual(parseRange('bytes=9500-', L), part(9500, L))
  assert.deepEqual(parseRange('bytes=0-', L), part(0, L))
})

test('a last-pos at or past the length means the remainder (14.1.1)', () => {
  assert.deepEqual(parseRange('bytes=100-10000', L), part(100, L))
  assert.deepEqual(parseRange('bytes=100-99999999999999999999999', L), part(100, L))
})

test('suffix-range: the last N bytes, the whole when N exceeds the length (14.1.3 "bytes=-500")', () => {
  assert.deepEqual(parseRange('bytes=-500', L), part(9500, L))
  assert.deepEqual(parseRange('bytes=-20000', L), part(0, L))
})

test('unsatisfiable: every first-pos at or past the length, or a zero suffix (14.1.1, 15.5.17)', () => {
  assert.deepEqual(parseRange('bytes=10000-', L), none)
  assert.deepEqual(parseRange('bytes=10000-20000', L), none)
  assert.deepEqual(parseRange('bytes=-0', L), none)
  assert.deepEqual(parseRange('bytes=99999999999999999999-', L), none)
  assert.deepEqual(parseRange('bytes=0-5', 0), none, 'nothing of an empty representation can be selected')
  assert.deepEqual(parseRange('bytes=-5', 0), none)
  assert.equal(unsatisfiedRange(L), 'bytes */10000')
})

test('several ranges: the unsatisfiable ones are dropped, the rest coalesced into one covering range (15.3.7)', () => {
  assert.deepEqual(parseRange('bytes=0-0,-1', L), part(0, L))
  assert.deepEqual(parseRange('bytes=500-600,601-999', L), part(500, 1000))
  assert.deepEqual(parseRange('bytes=20000-,100-199', L), part(100, 200))
  assert.deepEqual(parseRange('bytes=20000-,30000-', L), none)
})

test('list syntax: whitespace around elements and empty elements are allowed (5.6.1)', () => {
  assert.deepEqual(parseRange('bytes= 0-9 ,\t20-29', L), part(0, 30))
  assert.deepEqual(parseRange('bytes=,0-9,,', L), part(0, 10))
  assert.deepEqual(parseRange('bytes=,', L), full, 'no element at all: not a range-set')
})

test('the unit is case-insensitive (14.1); another unit is ignored (14.2 "MUST ignore")', () => {
  assert.deepEqual(parseRange('BYTES=0-9', L), part(0, 10))
  assert.deepEqual(parseRange('Bytes=0-9', L), part(0, 10))
  assert.deepEqual(parseRange('items=0-9', L), full)
  assert.deepEqual(parseRange('bytes 0-9', L), full)
})

test('invalid specs make the header ignored: last-pos below first-pos, non-digits, signs, an other-range (14.1.1, 14.2)', () => {
  for (const h of ['bytes=5-2', 'bytes=a-b', 'bytes=1-2-3', 'bytes=-', 'bytes=--5', 'bytes=+1-2', 'bytes=1.5-2', 'bytes=0x10-', 'bytes=5', 'bytes=', 'bytes=0-9,x']) {
    assert.deepEqual(parseRange(h, L), full, h)
  }
})

test(`more than ${MAX_RANGE_SPECS} range-specs are ignored (14.2: many small ranges may be)`, () => {
  const many = Array.from({ length: MAX_RANGE_SPECS + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')
  assert.deepEqual(parseRange(`bytes=${many}`, L), full)
})

test('Content-Range of a 206 names first and last byte, inclusive (15.3.7, 14.4)', () => {
  assert.equal(contentRange(0, 500, L), 'bytes 0-499/10000')
  assert.equal(contentRange(9999, 10_000, L), 'bytes 9999-9999/10000')
})
