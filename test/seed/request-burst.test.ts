/**
 * Issue 10, item 8: rtorrent 0.9.8 (no BEP 6) ignores the `reqq` of 250 we advertise and sends
 * 8192 requests at once. Without BEP 6 a request we drop is lost for ever (the peer waits for it
 * with the connection open), so the Seeder must serve every one, or make the peer ask again.
 *
 * The peer here is a raw socket: one write() carries all of its requests, and a WireParser reads
 * what we answer. The torrent is 150 MiB of 16 KiB blocks (the peer asks for 8192 of them, 128
 * MiB), read from a synthetic reader that writes each block's index and offset into its first bytes.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect as netConnect, type Socket } from 'node:net'
import { test } from 'node:test'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder, type SeedGeometry, type SeederOptions } from '../../lib/seed/seeder.js'
import type { PieceReader } from '../../lib/seed/uploader.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { encodeExtendedHandshake } from '../../lib/wire/extended-handshake.js'
import { encodeHandshake, encodeReserved, toHex } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'
import { WireParser } from '../../lib/wire/parser.js'
import { within } from '../wire/helpers.js'
import { GatedReader } from './helpers.js'
import { wire } from '../robustness/flood-peer.js'

const BLOCK = 16 * 1024
const BLOCKS = 8192
const PIECE_LENGTH = 16 * BLOCK
/** Room for a burst past 8192 blocks (the BEP 6 case asks for 9000). */
const PIECE_COUNT = 600
const INFO_HASH = createHash('sha1').update('request-burst').digest()
const META: SeedGeometry = {
  infoHash: INFO_HASH,
  infoHashHex: toHex(INFO_HASH),
  pieceLength: PIECE_LENGTH,
  pieceCount: PIECE_COUNT,
  lastPieceLength: PIECE_LENGTH,
  length: PIECE_LENGTH * PIECE_COUNT
}

/** Block `i` of the torrent, as (piece index, begin). */
const blockAt = (i: number): { index: number, begin: number } => ({ index: Math.floor(i * BLOCK / PIECE_LENGTH), begin: (i * BLOCK) % PIECE_LENGTH })

/**
 * Every 16 KiB block of the torrent starts with its piece index and offset, then a byte derived
 * from both; a read of several blocks (the upload side reads ahead) gets each at its place.
 */
class PatternReader implements PieceReader {
  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    const out = Buffer.alloc(length)
    for (let at = 0; at < length; at += BLOCK) {
      const b = out.subarray(at, Math.min(at + BLOCK, length))
      b.fill((index * 7 + (begin + at) / BLOCK) & 0xff)
      b.writeUInt32BE(index, 0)
      b.writeUInt32BE(begin + at, 4)
    }
    return out
  }
}

function blockIsRight (m: { index: number, begin: number, block: Uint8Array }): boolean {
  const b = Buffer.from(m.block.buffer, m.block.byteOffset, m.block.length)
  return b.length === BLOCK && b.readUInt32BE(0) === m.index && b.readUInt32BE(4) === m.begin && b[BLOCK - 1] === ((m.index * 7 + m.begin / BLOCK) & 0xff)
}

async function startSeeder (t: { after: (fn: () => unknown) => void }, extra: Partial<SeederOptions> = {}): Promise<number> {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta: META, reader: new PatternReader(), have: BitField.full(META.pieceCount), listener, ...extra })
  seeder.start()
  t.after(async () => { await seeder.close(); await listener.close() })
  return port
}

interface Outcome {
  pieces: number
  rejects: number
  chokes: number
  /** Requests sent, re-asks included. */
  asked: number
  /** Each block's answers (piece or reject) per request: must never exceed what was asked. */
  answers: Uint16Array
}

/**
 * An rtorrent-like peer: handshake (BEP 10, optionally BEP 6) + interested; on the first unchoke it
 * asks for `blocks` blocks in one write. After a choke, it discards its requests (BEP 3) and on
 * the next unchoke asks again, in one write, for every block it still lacks. Resolves once every
 * block arrived, or once every request was answered (BEP 6: a piece or a reject each).
 */
function rtorrentLike (port: number, opts: { fast: boolean, blocks: number, onReject?: (block: number, rejects: number) => void }): { done: Promise<Outcome>, socket: Socket } {
  const socket = netConnect({ host: '127.0.0.1', port })
  const out: Outcome = { pieces: 0, rejects: 0, chokes: 0, asked: 0, answers: new Uint16Array(opts.blocks) }
  const have = new Uint8Array(opts.blocks)
  const outstanding = new Set<number>()
  const done = new Promise<Outcome>((resolve, reject) => {
    let choked = true
    let failure: Error | undefined
    const askMissing = (): void => {
      const frames: Uint8Array[] = []
      for (let i = 0; i < opts.blocks; i++) {
        if (have[i] === 1) continue
        frames.push(wire({ type: 'request', ...blockAt(i), length: BLOCK }))
        outstanding.add(i)
      }
      out.asked += frames.length
      socket.write(Buffer.concat(frames))
    }
    const finished = (): boolean => out.pieces === opts.blocks || (opts.fast && outstanding.size === 0 && out.asked > 0)
    const onMessage = (m: Message): void => {
      switch (m.type) {
        case 'unchoke':
          if (choked) { choked = false; askMissing() }
          break
        case 'choke':
          choked = true
          out.chokes++
          outstanding.clear() // BEP 3: a choke discards every pending request
          break
        case 'piece': {
          const i = (m.index * PIECE_LENGTH + m.begin) / BLOCK
          if (!blockIsRight(m)) { failure = new Error(`block ${i} has the wrong bytes`); break }
          out.answers[i] = (out.answers[i] ?? 0) + 1
          outstanding.delete(i)
          if (have[i] === 0) { have[i] = 1; out.pieces++ }
          break
        }
        case 'reject': {
          const i = (m.index * PIECE_LENGTH + m.begin) / BLOCK
          out.answers[i] = (out.answers[i] ?? 0) + 1
          outstanding.delete(i)
          out.rejects++
          opts.onReject?.(i, out.rejects)
          break
        }
        default:
      }
      if (failure !== undefined) { socket.destroy(); reject(failure) } else if (finished()) resolve(out)
    }
    const parser = new WireParser({ message: onMessage, error: (err) => { socket.destroy(); reject(err) } }, { pieceCount: META.pieceCount })
    socket.on('data', (chunk: Buffer) => { parser.write(chunk) })
    socket.on('error', () => {})
    socket.on('close', () => { reject(new Error(`closed by the seeder after ${out.pieces} of ${opts.blocks} blocks, ${out.rejects} rejects, ${out.chokes} chokes`)) })
    socket.once('connect', () => {
      socket.write(Buffer.concat([
        encodeHandshake({ reserved: encodeReserved({ extended: true, fast: opts.fast, dht: false }), infoHash: INFO_HASH, peerId: Buffer.from('-RT0980-burst-test01') }),
        wire({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_pex: 1 }, v: 'rTorrent-like 0.9.8' }) }),
        wire({ type: 'interested' })
      ]))
    })
  })
  return { done, socket }
}

test('BEP 3 without BEP 6: 8192 requests in one write (rtorrent ignores reqq) are all served, in full, with no choke', async (t) => {
  const port = await startSeeder(t)
  const peer = rtorrentLike(port, { fast: false, blocks: BLOCKS })
  t.after(() => { peer.socket.destroy() })
  const out = await within(120_000, 'all 8192 blocks', peer.done)
  assert.equal(out.pieces, BLOCKS)
  assert.equal(out.chokes, 0)
  assert.equal(out.asked, BLOCKS)
  assert.ok(out.answers.every(n => n === 1), 'each block sent once')
})

test('BEP 3 without BEP 6: a burst beyond what we hold is not lost: once the held requests are served we choke and unchoke, the peer asks again, and gets every block', async (t) => {
  const port = await startSeeder(t, { uploader: { maxQueued: 1000, floodLimit: 1_000_000 } })
  const peer = rtorrentLike(port, { fast: false, blocks: BLOCKS })
  t.after(() => { peer.socket.destroy() })
  const out = await within(120_000, 'all 8192 blocks', peer.done)
  assert.equal(out.pieces, BLOCKS)
  assert.ok(out.chokes >= 1, 'the peer was made to ask again')
  assert.ok(out.answers.every(n => n === 1), 'each block sent once')
})

test('BEP 6: requests beyond what we hold get a reject each (exactly one answer per request), the rest their piece', async (t) => {
  const over = 808
  // The disk answers only once the rejects are out, so exactly the last `over` requests find the queue full.
  const gate = new GatedReader(new PatternReader())
  const port = await startSeeder(t, { reader: gate })
  const rejected: number[] = []
  const peer = rtorrentLike(port, { fast: true, blocks: BLOCKS + over, onReject: (i, n) => { rejected.push(i); if (n === over) gate.release() } })
  t.after(() => { peer.socket.destroy(); gate.release() })
  const out = await within(120_000, 'every request answered', peer.done)
  assert.equal(out.rejects, over)
  assert.ok(rejected.every(i => i >= BLOCKS), 'the rejected ones are those past what we hold')
  assert.equal(out.pieces, BLOCKS)
  assert.equal(out.chokes, 0)
  for (let i = 0; i < BLOCKS + over; i++) assert.equal(out.answers[i], 1, `request ${i}: one answer`)
})
