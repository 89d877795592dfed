/**
 * Which destinations may borrow a download's piece memory (lib/output/lending-sink.ts): only
 * Node's own byte sinks, which drop a chunk once its write callback ran. Anything that may keep a
 * chunk (a Node Readable's consumer is allowed to) must not be one.
 */
import { test } from 'node:test'
import { once } from 'node:events'
import assert from 'node:assert/strict'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, WriteStream } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { isLendingSink, lendingSink } from '../../lib/output/lending-sink.js'

test('a file, a socket and the process\'s stdout/stderr borrow; a Writable, a Transform, a subclass or an overridden write do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-sink-'))
  try {
    const file = createWriteStream(join(dir, 'a'))
    assert.equal(isLendingSink(file), true)
    assert.equal(isLendingSink(new Socket()), true)
    assert.equal(isLendingSink(process.stdout), true)
    assert.equal(isLendingSink(process.stderr), true)
    assert.equal(isLendingSink(new Writable({ write (_c, _e, cb) { cb() } })), false, 'a Writable of the user may keep chunks')
    assert.equal(isLendingSink(new PassThrough()), false, 'a Transform hands chunks on')
    class Keeper extends WriteStream {}
    const sub = Object.setPrototypeOf(createWriteStream(join(dir, 'b')), Keeper.prototype) as Keeper
    assert.equal(isLendingSink(sub), false, 'a subclass may override what a write does')
    const patched = createWriteStream(join(dir, 'c'))
    const plainWrite = patched.write.bind(patched)
    patched.write = ((chunk: Uint8Array) => plainWrite(chunk)) as typeof patched.write
    assert.equal(isLendingSink(patched), false, 'an instance with its own write')
    assert.equal(isLendingSink(null), false)
    assert.equal(isLendingSink({ write () { return true } }), false)
    for (const s of [file, sub, patched]) {
      if (s.pending) await once(s, 'open')
      s.destroy()
      await once(s, 'close')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the borrowing sink gives each chunk\'s bytes back after the file\'s write callback, in order, and is the file in every other respect', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-sink-'))
  try {
    const file = createWriteStream(join(dir, 'out'))
    const given: number[] = []
    const sink = lendingSink(file, n => { given.push(n) })
    const finished = new Promise<void>(resolve => sink.on('finish', () => resolve()))
    sink.write(Buffer.from('abc'))
    sink.write(Buffer.from('defgh'))
    assert.deepEqual(given, [], 'nothing back before the writes completed')
    sink.end()
    await finished
    assert.deepEqual(given, [3, 5])
    assert.equal(readFileSync(join(dir, 'out'), 'latin1'), 'abcdefgh')
    assert.equal(sink.bytesWritten, 8, 'its fields are the file\'s')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
