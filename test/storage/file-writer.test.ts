import assert from 'node:assert/strict'
import { openSync, closeSync, readFileSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'node:test'
import type { FileHandles } from '../../lib/storage/file-handles.js'
import { FileHandles as RealHandles } from '../../lib/storage/file-handles.js'
import { FileWriter } from '../../lib/storage/file-writer.js'
import { SLOT_BYTES, WriterThread } from '../../lib/storage/writer-thread.js'
import { prng } from '../helpers.js'
import { tempDir } from './helpers.js'

function bytes (n: number, seed: number): Uint8Array {
  const rand = prng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256)
  return out
}

test('writer thread: writes bigger than the ring, in any order and at once, land exactly at their offsets', async () => {
  const { dir, cleanup } = tempDir('writer')
  const path = join(dir, 'f.bin')
  const fd = openSync(path, 'w+')
  // Two slots and 5 KiB calls: every write waits for slots and is cut into many calls.
  const thread = new WriterThread({ slots: 2, chunkBytes: 5 * 1024 })
  try {
    const whole = bytes(5 * SLOT_BYTES + 12345, 7)
    const cuts = [0, SLOT_BYTES + 1, 3 * SLOT_BYTES - 100, 3 * SLOT_BYTES + 4096, whole.byteLength]
    const parts = cuts.slice(1).map((end, i) => ({ at: cuts[i] as number, data: whole.subarray(cuts[i], end) }))
    await Promise.all(parts.reverse().map(async p => await thread.write(fd, p.data, p.at)))
    assert.deepEqual(new Uint8Array(readFileSync(path)), whole)
  } finally {
    thread.close()
    closeSync(fd)
    cleanup()
  }
})

test('writer thread: a failed write(2) rejects with the system error code (EBADF), later writes still work', async () => {
  const { dir, cleanup } = tempDir('writer-err')
  const path = join(dir, 'f.bin')
  const readOnly = openSync(join(dir, 'ro.bin'), 'w')
  closeSync(readOnly)
  const ro = openSync(join(dir, 'ro.bin'), 'r')
  const fd = openSync(path, 'w+')
  const thread = new WriterThread()
  try {
    await assert.rejects(thread.write(ro, bytes(1000, 1), 0), (err: NodeJS.ErrnoException) => err.code === 'EBADF')
    const data = bytes(3000, 2)
    await thread.write(fd, data, 10)
    assert.deepEqual(new Uint8Array(readFileSync(path)).subarray(10), data)
  } finally {
    thread.close()
    closeSync(ro)
    closeSync(fd)
    cleanup()
  }
})

/** FileHandles whose datasync does what the test says, the writes going to a real descriptor. */
function fakeHandles (fd: number, datasync: () => Promise<void>): { handles: FileHandles, syncs: () => number } {
  let syncs = 0
  const fh = { fd, datasync: async () => { syncs++; await datasync() } } as unknown as FileHandle
  const handles = { use: async <T>(_path: string, _writable: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T> => await fn(fh) } as unknown as FileHandles
  return { handles, syncs: () => syncs }
}

test('early flush: a datasync starts in the background every flushBytes, and writes do not wait for it', async () => {
  const { dir, cleanup } = tempDir('flush')
  const fd = openSync(join(dir, 'f.bin'), 'w+')
  let releaseSync: () => void = () => {}
  const { handles, syncs } = fakeHandles(fd, async () => await new Promise<void>(resolve => { releaseSync = resolve }))
  const writer = new FileWriter(handles, { flushBytes: 4096 })
  try {
    await writer.write('f', bytes(4096, 1), 0)
    assert.equal(syncs(), 1, 'the first 4096 bytes start a flush')
    // The flush hangs: writes go on, and no second flush starts while one runs.
    await writer.write('f', bytes(8192, 2), 4096)
    assert.equal(syncs(), 1)
    let settled = false
    const settling = writer.settle('f').then(() => { settled = true })
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(settled, false, 'settle waits for the running flush (it runs before the final fsync)')
    releaseSync()
    await settling
  } finally {
    await writer.settleAll()
    closeSync(fd)
    cleanup()
  }
})

test('early flush: a background datasync that fails (EIO) fails the file\'s next write and its settle, never silently', async () => {
  const { dir, cleanup } = tempDir('flush-eio')
  const fd = openSync(join(dir, 'f.bin'), 'w+')
  const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })
  const { handles } = fakeHandles(fd, async () => { throw eio })
  const writer = new FileWriter(handles, { flushBytes: 1 })
  try {
    await writer.write('f', bytes(100, 1), 0)
    await new Promise(resolve => setImmediate(resolve))
    await assert.rejects(writer.write('f', bytes(100, 2), 100), (err: Error) => err === eio)
    await assert.rejects(writer.settle('f'), (err: Error) => err === eio)
  } finally {
    await writer.settleAll().catch(() => {})
    closeSync(fd)
    cleanup()
  }
})

test('file writer over real handles: bytes land, settleAll ends the thread (the process is free to exit)', async () => {
  const { dir, cleanup } = tempDir('writer-real')
  const handles = new RealHandles(dir)
  const writer = new FileWriter(handles)
  try {
    const data = bytes(3 * SLOT_BYTES + 5, 3)
    await writer.write(join(dir, 'a', 'b.bin'), data, 7)
    await writer.settleAll()
    await handles.closeAll(true)
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a', 'b.bin'))).subarray(7), data)
  } finally { cleanup() }
})
