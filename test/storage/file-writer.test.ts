import assert from 'node:assert/strict'
import { openSync, closeSync, readFileSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'node:test'
import type { FileHandles } from '../../lib/storage/file-handles.js'
import { FileHandles as RealHandles } from '../../lib/storage/file-handles.js'
import { FileWriter } from '../../lib/storage/file-writer.js'
import { prng } from '../helpers.js'
import { tempDir } from './helpers.js'

function bytes (n: number, seed: number): Uint8Array {
  const rand = prng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256)
  return out
}

test('file writer: writes queued behind a running one go out merged when adjacent, each at its own offset', async () => {
  const { dir, cleanup } = tempDir('merge')
  const handles = new RealHandles(dir)
  const writer = new FileWriter(handles)
  const path = join(dir, 'f.bin')
  try {
    const whole = bytes(40 * 1000 + 77, 7)
    const cuts = Array.from({ length: 41 }, (_, i) => Math.min(whole.byteLength, i * 1000 + (i === 40 ? 77 : 0)))
    const parts = cuts.slice(1).map((end, i) => ({ at: cuts[i] as number, data: whole.subarray(cuts[i], end) }))
    // Every second part first, then the rest: adjacent runs only form once the gaps are queued.
    const order = [...parts.filter((_, i) => i % 2 === 0), ...parts.filter((_, i) => i % 2 === 1)]
    await Promise.all(order.map(async p => await writer.write(path, p.data, p.at)))
    assert.equal(writer.writes, 40)
    assert.ok(writer.calls < 40, `adjacent queued writes merge (${writer.calls} calls for 40 writes)`)
    await writer.settleAll()
    await handles.closeAll(true)
    assert.deepEqual(new Uint8Array(readFileSync(path)), whole)
  } finally { cleanup() }
})

test('file writer: a failed write (EBADF: a read-only descriptor) rejects every write it carried, with the system error', async () => {
  const { dir, cleanup } = tempDir('writer-err')
  closeSync(openSync(join(dir, 'ro.bin'), 'w'))
  const ro = openSync(join(dir, 'ro.bin'), 'r')
  const fh = { fd: ro, write: async () => { throw Object.assign(new Error('EBADF: bad file descriptor, write'), { code: 'EBADF' }) }, writev: async () => { throw Object.assign(new Error('EBADF: bad file descriptor, write'), { code: 'EBADF' }) } } as unknown as FileHandle
  const handles = { use: async <T>(_p: string, _w: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T> => await fn(fh) } as unknown as FileHandles
  const writer = new FileWriter(handles)
  try {
    const results = await Promise.allSettled([writer.write('f', bytes(10, 1), 0), writer.write('f', bytes(10, 2), 10)])
    for (const r of results) assert.ok(r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code === 'EBADF')
  } finally {
    closeSync(ro)
    cleanup()
  }
})

/** FileHandles whose datasync does what the test says, the writes going to a real descriptor. */
function fakeHandles (fd: number, datasync: () => Promise<void>): { handles: FileHandles, syncs: () => number } {
  let syncs = 0
  const fh = { fd, write: async (b: Uint8Array, o: number, l: number, p: number) => ({ bytesWritten: writeSync(fd, b, o, l, p) }), datasync: async () => { syncs++; await datasync() } } as unknown as FileHandle
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

test('file writer over real handles: a write into a missing directory creates it; bytes land', async () => {
  const { dir, cleanup } = tempDir('writer-real')
  const handles = new RealHandles(dir)
  const writer = new FileWriter(handles)
  try {
    const data = bytes(3 * 256 * 1024 + 5, 3)
    await writer.write(join(dir, 'a', 'b.bin'), data, 7)
    await writer.settleAll()
    await handles.closeAll(true)
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a', 'b.bin'))).subarray(7), data)
  } finally { cleanup() }
})

test('direct writes: a run\'s 4096-aligned middle bypasses the page cache, its unaligned ends do not, and every byte lands where it belongs', async () => {
  const { dir, cleanup } = tempDir('direct')
  const handles = new RealHandles(dir)
  const writer = new FileWriter(handles)
  const path = join(dir, 'f.bin')
  try {
    // Three pieces' worth from byte 100: aligned middle from 4096 to the last multiple of 4096.
    const data = bytes(3 * 256 * 1024, 9)
    await writer.write(path, data, 100)
    await writer.settleAll()
    await handles.closeAll(true)
    assert.deepEqual(new Uint8Array(readFileSync(path)).subarray(100), data)
    const middle = Math.floor((100 + data.byteLength) / 4096) * 4096 - 4096
    // Zero where the file system refuses O_DIRECT (the test directory's may): then all is buffered.
    assert.ok(writer.directBytes === middle || writer.directBytes === 0, `${writer.directBytes} direct bytes`)
  } finally { cleanup() }
})

test('direct writes: where the direct descriptor cannot be had, every byte goes through the page cache', async () => {
  const { dir, cleanup } = tempDir('no-direct')
  const fd = openSync(join(dir, 'f.bin'), 'w+')
  const real = fd
  // A handle whose descriptor number names no open file: reopening it for O_DIRECT fails.
  const fh = { fd: 1 << 20, write: async (b: Uint8Array, o: number, l: number, p: number) => ({ bytesWritten: writeSync(real, b, o, l, p) }), writev: async (bs: Uint8Array[], p: number) => { let n = 0; for (const b of bs) n += writeSync(real, b, 0, b.byteLength, p + n); return { bytesWritten: n } } } as unknown as FileHandle
  const handles = { use: async <T>(_p: string, _w: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T> => await fn(fh) } as unknown as FileHandles
  const writer = new FileWriter(handles, { flushBytes: 0 })
  try {
    const data = bytes(512 * 1024, 10)
    await writer.write('f', data, 0)
    await writer.settleAll()
    assert.equal(writer.directBytes, 0)
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'f.bin'))), data)
  } finally {
    closeSync(fd)
    cleanup()
  }
})
