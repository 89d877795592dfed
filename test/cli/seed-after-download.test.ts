/**
 * `-o PATH --seed` on one engine (issue 15): the download's swarm goes on as a seed once complete,
 * so a peer that connected while we downloaded keeps its connection, and is served from it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BitField } from '../../lib/wire/bitfield.js'
import { connect } from '../../lib/wire/connect.js'
import { tempDir } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'
import { nextOf, within } from '../wire/helpers.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

test('-o PATH --seed: a peer connected during the download keeps its connection when seeding starts, and is served on it (BEP 3)', async (t) => {
  const data = seededBytes(1024 * 1024, 91)
  const made = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  const origin = await startFakeSeeder(made.meta, data, { kind: 'honest' })
  t.after(() => origin.close())
  const { dir, remove } = tempDir('bt-seed-after-')
  t.after(remove)
  writeFileSync(join(dir, 'x.torrent'), made.torrent)
  // Slow enough that our peer joins while the download runs.
  const child = spawn(process.execPath, [BIN, join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--seed', '--no-trackers', '--no-dht', '--no-utp',
    '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--max-download-rate', '256K', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.after(() => { child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const listening = (): Array<Record<string, unknown>> => stderr.split('\n').filter(l => l.includes('"listening"')).map(l => JSON.parse(l) as Record<string, unknown>)
  const until = async (what: string, ok: () => boolean): Promise<void> => { await within(30_000, what, (async () => { while (!ok()) await new Promise(resolve => setTimeout(resolve, 20)) })()) }
  await until('the download listens', () => listening().length >= 1)
  const port = listening()[0]?.port as number
  const conn = await within(5000, 'connect', connect({ host: '127.0.0.1', port, infoHash: made.meta.infoHash, pieceCount: made.meta.pieceCount, have: new BitField(made.meta.pieceCount) }))
  conn.on('error', () => {})
  t.after(() => conn.destroy())
  let closedAt = ''
  conn.once('close', () => { closedAt = stderr.includes('"phase":"seed"') ? 'seeding' : 'downloading' })
  assert.equal(stderr.includes('"phase":"seed"'), false, 'it joined while the download ran')
  conn.interested()
  await until('seeding starts', () => listening().length === 2)
  assert.equal(listening()[1]?.port, port)
  // The old way closed every connection before the seeding listener opened; give a close time to arrive.
  await new Promise(resolve => setTimeout(resolve, 1000))
  assert.equal(closedAt, '', 'the connection outlived the download')
  if (conn.peerChoking) await within(15_000, 'unchoke', nextOf(conn, 'unchoke'))
  conn.request(made.meta.pieceCount - 1, 0, 16384)
  const p = await within(10_000, 'a block', nextOf(conn, 'piece'))
  assert.ok(Buffer.from(p.block).equals(data.subarray(data.length - 64 * 1024, data.length - 48 * 1024)))
  const closed = new Promise<number | null>(resolve => child.once('close', resolve))
  child.kill('SIGINT')
  assert.equal(await within(10_000, 'exit', closed), 130)
})
