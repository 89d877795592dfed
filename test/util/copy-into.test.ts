import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { copyInto } from '../../lib/util/copy-bytes.js'

// The engine's piece buffers are shared memory; blocks come from socket reads at any offset.
const kinds = {
  'an ArrayBuffer': (n: number) => new Uint8Array(n),
  'a Buffer': (n: number) => Buffer.alloc(n),
  'shared memory': (n: number) => new Uint8Array(new SharedArrayBuffer(n))
}

for (const [targetKind, makeTarget] of Object.entries(kinds)) {
  for (const [sourceKind, makeSource] of Object.entries(kinds)) {
    test(`copyInto: ${sourceKind} at an odd offset into ${targetKind}, exactly its bytes and nothing around them`, () => {
      const bytes = randomBytes(1000)
      const source = makeSource(1013)
      source.set(bytes, 13)
      const target = makeTarget(4096)
      target.fill(0xee)
      copyInto(target, source.subarray(13), 3001)
      assert.deepEqual(Buffer.from(target.subarray(3001, 4001)), bytes)
      assert.ok(target.subarray(0, 3001).every(b => b === 0xee), 'nothing before it changed')
      assert.ok(target.subarray(4001).every(b => b === 0xee), 'nothing after it changed')
      copyInto(target, new Uint8Array(0), 10)
      assert.equal(target[10], 0xee, 'an empty source writes nothing')
    })
  }
}
