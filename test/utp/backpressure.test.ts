import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Readable } from 'streamx'
import { createTorrent } from '../../lib/metainfo/create.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { MemoryReader } from '../seed/helpers.js'
import { collect } from '../helpers.js'
import { within } from '../wire/helpers.js'
import { openTransport, serveOverUtp, swarmDownload, utpDialer, utpSkip } from './helpers.js'

const skip = utpSkip()
const MIB = 1024 * 1024
const SIZE = 48 * MIB
const WINDOW = 2 * MIB
/**
 * What may be sent before a reader that stopped stops the transfer: the merger's window, the
 * pieces in flight, and one request window per peer (32 requests of 16 KiB at the start, up to
 * 2 s of transfer at the measured rate). Far below the file.
 */
const IN_FLIGHT_BOUND = 24 * MIB

test('backpressure over uTP: a reader that stops reading stops the transfer (the seeder sends a bounded amount), and it completes when reading resumes', { skip, timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bt-stream-utp-bp-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const payload = randomBytes(SIZE)
  await writeFile(join(dir, 'big.bin'), payload)
  const { meta } = await createTorrent(join(dir, 'big.bin'), { pieceLength: 256 * 1024, creationDate: null })
  const listener = new PeerListener({ host: '127.0.0.1' })
  await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryReader(payload, meta.pieceLength), have: BitField.full(meta.pieceCount), listener })
  seeder.start()
  const server = await openTransport()
  const client = await openTransport({ accept: false })
  t.after(async () => { await client.close(); await server.close(); await seeder.close(); await listener.close() })
  serveOverUtp(server, meta, seeder)

  let startReading!: () => void
  const gate = new Promise<void>((resolve) => { startReading = resolve })
  const download = swarmDownload(meta, [{ host: '127.0.0.1', port: server.port }], utpDialer(client, meta), {
    windowBytes: WINDOW,
    consume: async (out: Readable) => { await gate; return await collect(out) }
  })
  // The reader has not read a byte: wait until the seeder stops sending.
  let last = -1
  await within(60_000, 'the transfer stalls', (async () => {
    for (;;) {
      await new Promise(resolve => setTimeout(resolve, 1000))
      if (seeder.uploaded === last && last > 0) return
      last = seeder.uploaded
    }
  })())
  t.diagnostic(`${seeder.uploaded} bytes sent before the stall`)
  assert.ok(seeder.uploaded <= IN_FLIGHT_BOUND, `${seeder.uploaded} bytes sent to a reader that read nothing (bound ${IN_FLIGHT_BOUND})`)
  assert.ok(seeder.uploaded < SIZE)
  startReading()
  const { bytes } = await within(90_000, 'the rest once reading resumes', download)
  assert.ok(bytes.equals(payload), 'byte-identical')
})
