import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'streamx'
import { lendingWriter } from '../../lib/output/lending-writer.js'

test('the lending writer gives bytes back only after the target\'s write callback, in order', async () => {
  const pending: Array<() => void> = []
  const written: number[] = []
  // A sink that completes each write only when told: a full pipe.
  const target = new Writable({ highWaterMark: 1, write (chunk: Buffer, _enc, cb) { written.push(chunk.byteLength); pending.push(cb) } })
  const given: number[] = []
  const w = lendingWriter(target, n => { given.push(n) })
  w.write(new Uint8Array(3))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(given, [], 'the write has not completed: nothing given back')
  w.write(new Uint8Array(5))
  w.write(new Uint8Array(7))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(written, [3], 'one batch at a time: the next waits for the last one\'s callback')
  pending.shift()!()
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(given, [3])
  while (pending.length > 0) { pending.shift()!(); await new Promise(resolve => setImmediate(resolve)) }
  assert.equal(given.reduce((a, b) => a + b, 0), 15)
})

test('a failing target (EPIPE) fails the pipeline and gives nothing back for the failed write', async () => {
  const target = new Writable({ write (_chunk, _enc, cb) { cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) } })
  target.on('error', () => {})
  const given: number[] = []
  const source = Readable.from([new Uint8Array(4), new Uint8Array(4)])
  await assert.rejects(pipeline(source, lendingWriter(target, n => { given.push(n) })), /EPIPE/)
  assert.deepEqual(given, [])
})
