/**
 * Seeded fuzz of the bytes right behind a valid handshake, in the same write(): frames with
 * plausible and absurd length prefixes, every message id, random payloads. Whatever arrives, the
 * connection either carries on or closes with a reason; the process never sees an uncaught error
 * (node:test fails the file if one escapes), and a seeder hit by all of it still serves.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect } from '../../lib/wire/connect.js'
import { download } from '../../lib/session/download.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { BitField } from '../../lib/wire/bitfield.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { collect, prng } from '../helpers.js'
import { MemoryReader } from '../seed/helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { hostileDial, startHostileServer, type HostileCase } from './hostile-bytes.js'

const CASES = 300
const PIECE = 16 * 1024
const t = makeTorrent({ length: 12 * PIECE + 5, pieceLength: PIECE })
const { meta } = t

/** One fuzz case: a few frames, each with a length prefix near the id's bounds or anywhere. */
function fuzzCase (seed: number): HostileCase {
  const rnd = prng(seed)
  const int = (n: number): number => Math.floor(rnd() * n)
  const parts: Buffer[] = []
  const frames = 1 + int(4)
  for (let f = 0; f < frames; f++) {
    const id = int(25)
    const bodyLength = [0, 1, 2, 4, 8, 12, 13, 16, int(64), int(300)][int(10)] as number
    const prefix = rnd() < 0.15 ? int(0xffffffff) : bodyLength + 1 + (rnd() < 0.2 ? int(5) - 2 : 0)
    const b = Buffer.alloc(5 + bodyLength)
    b.writeUInt32BE(Math.max(0, prefix) >>> 0, 0)
    b[4] = id
    for (let i = 5; i < b.length; i++) b[i] = int(256)
    // Indices and lengths sometimes in range, so deeper code runs too.
    if (bodyLength >= 4 && rnd() < 0.5) b.writeUInt32BE(int(meta.pieceCount + 2), 5)
    if (bodyLength >= 12 && rnd() < 0.5) b.writeUInt32BE(int(3) * 16384, 9)
    parts.push(b)
  }
  if (rnd() < 0.1) parts.push(Buffer.from('d1:md6:ut_pexi1eee'))
  const bytes = Buffer.concat(parts)
  return { name: `fuzz seed ${seed}`, bytes: () => bytes, dropped: false }
}

async function settle (conn: PeerConnection): Promise<void> {
  conn.resume()
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 100)
    conn.whenClosed(() => { clearTimeout(timer); resolve() })
  })
  conn.destroy()
}

test(`dialing: ${CASES} seeded random tails behind the peer's handshake; each connection opens or closes with a reason`, async () => {
  let opened = 0
  let refused = 0
  for (let seed = 1; seed <= CASES; seed++) {
    const bad = await startHostileServer(fuzzCase(seed), meta.infoHash, meta.pieceCount, meta.pieceLength)
    try {
      const conn = await within(5000, `seed ${seed}`, connect({ host: '127.0.0.1', port: bad.port, infoHash: meta.infoHash, pieceCount: meta.pieceCount, handshakeTimeout: 3000 })).catch((err: unknown) => {
        assert.ok(err instanceof Error, `seed ${seed}: rejects with an Error`)
        return undefined
      })
      if (conn === undefined) { refused++; continue }
      opened++
      await settle(conn)
      if (conn.closeReason !== null) assert.ok(conn.closeReason.message.length > 0, `seed ${seed}: a reason`)
    } finally { await bad.close() }
  }
  assert.equal(opened + refused, CASES)
})

test(`accepting: ${CASES} seeded random tails dialed into a seeder, then an honest download is byte-identical`, async () => {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryReader(t.data, meta.pieceLength), have: BitField.full(meta.pieceCount), listener, infoBytes: meta.infoBytes })
  seeder.start()
  try {
    // In batches: independent connections, and a bounded number open at once.
    for (let seed = 1; seed <= CASES; seed += 25) {
      const batch = Array.from({ length: Math.min(25, CASES - seed + 1) }, (_v, i) => fuzzCase(10_000 + seed + i))
      await Promise.all(batch.map(c => hostileDial(c, port, meta.infoHash, meta.pieceCount, meta.pieceLength, 300)))
    }
    const out = await within(20_000, 'download', collect(download(meta, { peers: [{ host: '127.0.0.1', port }], trackers: false })))
    assert.ok(out.equals(t.data))
  } finally {
    await seeder.close()
    await listener.close()
  }
})
