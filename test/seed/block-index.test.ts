import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BlockIndex } from '../../lib/seed/block-index.js'

/** A deterministic generator (xorshift32): the same sequence on every run. */
function rng (seed: number): () => number {
  let x = seed
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 0x100000000 }
}

test('block index: any mix of set, delete and get answers as a Map does (offsets 16 KiB-aligned and not, past 2^32)', () => {
  const rand = rng(0x5eed)
  const ours = new BlockIndex<number>()
  const ref = new Map<number, number>()
  const keys: number[] = []
  for (let i = 0; i < 3000; i++) keys.push(i * 16384, 7 * 2 ** 32 + i * 16384, i * 16384 + 1 + Math.floor(rand() * 16000))
  for (let op = 0; op < 200_000; op++) {
    const key = keys[Math.floor(rand() * keys.length)] as number
    const r = rand()
    if (r < 0.45) {
      ours.set(key, op)
      ref.set(key, op)
    } else if (r < 0.9) {
      assert.equal(ours.delete(key), ref.delete(key))
    } else {
      assert.equal(ours.get(key), ref.get(key))
    }
    if (op % 997 === 0) assert.equal(ours.size, ref.size)
  }
  for (const k of keys) assert.equal(ours.get(k), ref.get(k), `key ${k}`)
  ours.clear()
  assert.equal(ours.size, 0)
  assert.equal(ours.get(keys[0] as number), undefined)
})

test('block index: a steady queue (one in, one out per block) keeps its one table: nothing is allocated per block', () => {
  const index = new BlockIndex<number>()
  for (let i = 0; i < 2000; i++) index.set(i * 16384, i)
  const table = (index as unknown as { _keys: Float64Array })._keys
  for (let i = 2000; i < 100_000; i++) {
    index.set(i * 16384, i)
    assert.equal(index.delete((i - 2000) * 16384), true)
  }
  assert.equal(index.size, 2000)
  assert.equal((index as unknown as { _keys: Float64Array })._keys, table, 'the same table')
  for (let i = 98_000; i < 100_000; i++) assert.equal(index.get(i * 16384), i)
})
