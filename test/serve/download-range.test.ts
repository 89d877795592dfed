/**
 * `download(meta, { file, start, end })` (issue 15, the library's byte-range stream): the bytes
 * [start, end) of a file, in order, fetching only the pieces under them.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { download } from '../../lib/session/download.js'
import { UsageError } from '../../lib/util/errors.js'
import { collect, prng } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'

const KiB = 1024

test('random byte ranges of a file of a multi-file torrent stream byte-identical, fetching only their pieces', async (t) => {
  const made = makeTorrent({ length: 0, pieceLength: 16 * KiB, name: 'd', files: [{ path: ['a'], length: 50 * KiB + 3 }, { path: ['b'], length: 300 * KiB + 11 }] })
  const seeder = await startFakeSeeder(made.meta, made.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const b = made.meta.files[1]!
  const rand = prng(3)
  for (let k = 0; k < 9; k++) {
    const start = k === 0 ? 1000 : Math.floor(rand() * b.length)
    const end = k === 0 ? 1000 : start + Math.floor(rand() * (b.length - start))
    const stream = download(made.meta, { file: 1, start, end, peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, dht: false })
    const out = await within(20_000, `${start}..${end}`, collect(stream))
    assert.ok(out.equals(made.data.subarray(b.offset + start, b.offset + end)), `${start}..${end}`)
    const pieces = end === start ? 0 : Math.floor((b.offset + end - 1) / (16 * KiB)) - Math.floor((b.offset + start) / (16 * KiB)) + 1
    assert.ok(stream.swarm.stats.verified <= pieces * 16 * KiB, `${start}..${end}: only the pieces under the range`)
  }
})

test('a range outside the file is a usage error', () => {
  const made = makeTorrent({ length: 10 * KiB, pieceLength: 16 * KiB })
  assert.throws(() => download(made.meta, { start: 5, end: 20 * KiB, trackers: false }), UsageError)
  assert.throws(() => download(made.meta, { start: 6, end: 5, trackers: false }), UsageError)
  assert.throws(() => download(made.meta, { start: -1, trackers: false }), UsageError)
})
