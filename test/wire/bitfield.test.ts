import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../../lib/util/errors.js'
import { BitField } from '../../lib/wire/bitfield.js'

test('BEP 3: bit 0 is the high bit of the first byte; spare bits stay zero', () => {
  const bf = new BitField(10)
  assert.equal(bf.bytes.length, 2)
  bf.set(0)
  bf.set(9)
  assert.deepEqual(Array.from(bf.bytes), [0x80, 0x40])
  assert.equal(bf.get(0), true)
  assert.equal(bf.get(1), false)
  assert.equal(bf.get(9), true)
  assert.equal(bf.get(10), false, 'out of range reads as absent')
  assert.equal(bf.count(), 2)
  bf.set(0, false)
  assert.equal(bf.count(), 1)
  bf.set(9) // setting twice does not double count
  assert.equal(bf.count(), 1)
})

test('hasAll / setAll / full keep spare bits clear', () => {
  const bf = BitField.full(10)
  assert.deepEqual(Array.from(bf.bytes), [0xff, 0xc0])
  assert.equal(bf.hasAll(), true)
  assert.equal(bf.count(), 10)
  bf.set(3, false)
  assert.equal(bf.hasAll(), false)
  assert.equal(new BitField(16).hasNone(), true)
  assert.deepEqual(Array.from(BitField.full(16).bytes), [0xff, 0xff])
})

test('BEP 3: a wire bitfield of the wrong size or with spare bits set is a ProtocolError', () => {
  assert.throws(() => BitField.fromWire(new Uint8Array(3), 10), ProtocolError)
  assert.throws(() => BitField.fromWire(Uint8Array.from([0, 0x20]), 10), /spare bits/)
  const ok = BitField.fromWire(Uint8Array.from([0x81, 0x40]), 10)
  assert.equal(ok.count(), 3)
  assert.throws(() => ok.set(10), RangeError)
})

test('fromWire copies a Buffer view (a socket chunk): the peer\'s bitfield never shares the chunk\'s memory', () => {
  const chunk = Buffer.from([0xff, 0x80, 0x01, 0x02])
  const bf = BitField.fromWire(chunk.subarray(0, 2), 9)
  chunk.fill(0)
  assert.equal(bf.get(0), true)
  assert.equal(bf.get(8), true)
  bf.set(1, false)
  assert.deepEqual([...chunk.subarray(0, 2)], [0, 0], 'setting a bit does not write into the chunk')
})
