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
