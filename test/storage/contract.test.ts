import assert from 'node:assert/strict'
import { join } from 'node:path'
import test from 'node:test'
import { FileStorage } from '../../lib/storage/file-storage.js'
import { MemoryStorage } from '../../lib/storage/memory-storage.js'
import { SlowStorage } from '../../lib/storage/slow-storage.js'
import type { Storage } from '../../lib/storage/storage.js'
import { StorageError } from '../../lib/util/errors.js'
import { makeTorrent, pieceOf, shuffled, tempDir, type Fixture } from './helpers.js'

const PL = 16 * 1024

/** Every Storage must behave the same through the interface: the layers are interchangeable. */
const IMPLEMENTATIONS: ReadonlyArray<[string, (fx: Fixture, dir: string) => Promise<Storage>]> = [
  ['MemoryStorage', async fx => new MemoryStorage(fx.meta)],
  ['FileStorage', async (fx, dir) => await FileStorage.open(fx.meta, dir)],
  ['SlowStorage over FileStorage', async (fx, dir) => new SlowStorage(await FileStorage.open(fx.meta, dir), { latencyMs: 1 })]
]

for (const [name, make] of IMPLEMENTATIONS) {
  test(`Storage contract (${name}): pieces in any order read back block by block (BEP 3 request)`, async () => {
    const fx = makeTorrent('c', [{ path: ['a'], length: 10000 }, { path: ['.pad', '6384'], length: 6384, padding: true }, { path: ['b'], length: 30000 }], PL, 21)
    const { dir, cleanup } = tempDir('contract')
    try {
      const storage = await make(fx, join(dir, 'out'))
      for (const i of shuffled(fx.meta.pieceCount, 3)) await storage.write(i, pieceOf(fx, i))
      for (let i = 0; i < fx.meta.pieceCount; i++) {
        const piece = pieceOf(fx, i)
        for (let begin = 0; begin < piece.byteLength; begin += 4096) {
          const length = Math.min(4096, piece.byteLength - begin)
          assert.deepEqual(await storage.read(i, begin, length), piece.subarray(begin, begin + length), `piece ${i} at ${begin}`)
        }
      }
      await assert.rejects(storage.read(0, PL, 1), RangeError)
      await assert.rejects(storage.write(0, new Uint8Array(10)), RangeError)
      await storage.close()
      await storage.close()
      await assert.rejects(storage.write(0, pieceOf(fx, 0)), StorageError)
    } finally { cleanup() }
  })
}
