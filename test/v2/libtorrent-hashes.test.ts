import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { parseInfoDict, parseTorrent } from '../../lib/metainfo/parse.js'
import { resolveHashes } from '../../lib/v2/hash-requester.js'
import { V2PieceVerifier } from '../../lib/v2/piece-verifier.js'
import { decodeHashes, encodeHashRequest, HashMessageId, type HashRequest } from '../../lib/wire/hash-messages.js'
import { v2Handshake } from '../../lib/swarm/wire-peer.js'
import { connect as connectPeer } from '../../lib/wire/connect.js'
import { V2_FIXTURES, v2Fixture } from './helpers.js'

const PY = '/usr/bin/python3'
const hasLibtorrent = spawnSync(PY, ['-c', 'import libtorrent'], { timeout: 30_000 }).status === 0

/** Starts the libtorrent seeder; resolves with its port once it seeds. */
async function seeder (torrent: string, t: { after: (fn: () => void) => void }): Promise<number> {
  // The script stays in the source tree (tsc copies nothing else to dist/).
  const script = fileURLToPath(new URL('../../../test/v2/libtorrent-seeder.py', import.meta.url))
  const child: ChildProcess = spawn(PY, [script, torrent, fileURLToPath(new URL('data', V2_FIXTURES))], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => { child.stdin?.end(); if (child.exitCode === null) child.kill() })
  return await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('libtorrent seeder did not start')), 60_000)
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /PORT (\d+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`seeder exited ${String(code)}: ${out}`)) })
  })
}

/** A bare BEP 3 connection speaking only what the test needs; frames as [id, payload]. */
class RawPeer {
  private _buf = Buffer.alloc(0)
  private _handshook = false
  private readonly _waiters: ((f: [number, Buffer]) => boolean)[] = []
  private readonly _onClose: (() => void)[] = []
  closed = false
  readonly frames: [number, Buffer][] = []
  constructor (readonly socket: Socket) {
    socket.on('data', (b: Buffer) => { this._buf = Buffer.concat([this._buf, b]); this._drain() })
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true; for (const f of this._onClose.splice(0)) f() })
  }

  private _drain (): void {
    if (!this._handshook) {
      if (this._buf.length < 68) return
      this._buf = this._buf.subarray(68)
      this._handshook = true
    }
    while (this._buf.length >= 4) {
      const n = this._buf.readUInt32BE(0)
      if (this._buf.length < 4 + n) return
      const frame = this._buf.subarray(4, 4 + n)
      this._buf = this._buf.subarray(4 + n)
      if (n === 0) continue
      const f: [number, Buffer] = [frame[0] as number, Buffer.from(frame.subarray(1))]
      this.frames.push(f)
      for (let i = 0; i < this._waiters.length; i++) if ((this._waiters[i] as (f: [number, Buffer]) => boolean)(f)) this._waiters.splice(i--, 1)
    }
  }

  send (id: number, payload: Uint8Array): void {
    const head = Buffer.alloc(5)
    head.writeUInt32BE(1 + payload.length, 0)
    head[4] = id
    this.socket.write(Buffer.concat([head, payload]))
  }

  /** The first frame with one of `ids` (already received or to come). */
  async next (ids: number[], ms = 20_000): Promise<[number, Buffer]> {
    const have = this.frames.find(f => ids.includes(f[0]))
    if (have !== undefined) { this.frames.splice(this.frames.indexOf(have), 1); return have }
    if (this.closed) throw new Error('connection closed')
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message ${ids.join('/')} in ${ms} ms`)), ms)
      this._onClose.push(() => { clearTimeout(timer); reject(new Error('connection closed')) })
      this._waiters.push(f => {
        if (!ids.includes(f[0])) return false
        clearTimeout(timer)
        this.frames.splice(this.frames.indexOf(f), 1)
        resolve(f)
        return true
      })
    })
  }
}

async function dial (port: number, infoHash: Uint8Array, t: { after: (fn: () => void) => void }): Promise<RawPeer> {
  const socket = connect(port, '127.0.0.1')
  t.after(() => socket.destroy())
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10 // BEP 10
  reserved[7] = 0x04 | 0x10 // BEP 6, and BEP 52's "supports v2" bit
  socket.write(Buffer.concat([Buffer.from('\x13BitTorrent protocol'), reserved, infoHash, Buffer.from('-BS0001-'), randomBytes(12)]))
  return new RawPeer(socket)
}

test('libtorrent 2.0 answers our BEP 52 piece-layer requests with hashes that verify to the root', { skip: !hasLibtorrent && 'python3-libtorrent is not installed' }, async (t) => {
  const torrent = fileURLToPath(new URL('v2-single.torrent', V2_FIXTURES))
  const meta = parseTorrent(v2Fixture('v2-single.torrent'), { allowV2Only: true })
  const port = await seeder(torrent, t)
  const peer = await dial(port, meta.infoHash, t)
  // As a magnet would: the info dict only, piece layers fetched from the peer.
  const leecher = new V2PieceVerifier(parseInfoDict(meta.infoBytes, {}, { allowV2Only: true }))
  const requests = leecher.pieceLayerRequests()
  assert.equal(requests.length, 1)
  for (const r of requests) {
    peer.send(HashMessageId.hashRequest, encodeHashRequest(r))
    const [id, payload] = await peer.next([HashMessageId.hashes, HashMessageId.hashReject])
    assert.equal(id, HashMessageId.hashes, 'libtorrent rejected a piece-layer request')
    assert.equal(leecher.addPieceLayerHashes(decodeHashes(payload)), 'stored')
  }
  assert.ok(leecher.hasAllPieceHashes())
  const full = new V2PieceVerifier(meta)
  for (let p = 0; p < meta.pieceCount; p++) assert.deepEqual(Buffer.from(leecher.pieceHash(p) ?? []), Buffer.from(full.pieceHash(p) ?? []))
})

test('libtorrent 2.0 answers block hashes and proofs with uncles in the layout we decode (uncles nearest first)', { skip: !hasLibtorrent && 'python3-libtorrent is not installed' }, async (t) => {
  const meta = parseTorrent(v2Fixture('v2-multi.torrent'), { allowV2Only: true })
  const port = await seeder(fileURLToPath(new URL('v2-multi.torrent', V2_FIXTURES)), t)
  const peer = await dial(port, meta.infoHash, t)
  const v = new V2PieceVerifier(meta)
  const long = meta.v2Files?.find(f => f.path.endsWith('long.bin'))
  assert.ok(long?.piecesRoot !== undefined)
  const ask = async (r: HashRequest): Promise<Buffer> => {
    peer.send(HashMessageId.hashRequest, encodeHashRequest(r))
    const [id, payload] = await peer.next([HashMessageId.hashes, HashMessageId.hashReject])
    assert.equal(id, HashMessageId.hashes, `libtorrent rejected ${JSON.stringify({ ...r, piecesRoot: undefined })}`)
    return payload
  }
  // Per-block verification: the leaves of piece 1 of long.bin (a seeder that checked its files has them).
  const req = v.blockHashesRequest(long.firstPiece + 1) as HashRequest
  assert.ok(v.acceptBlockHashes(long.firstPiece + 1, decodeHashes(await ask(req))) !== undefined)
  // long.bin: 7 blocks, a tree 3 layers tall. Two leaves with the proof to the root: 2 uncles.
  const leaves = decodeHashes(await ask({ piecesRoot: long.piecesRoot, baseLayer: 0, index: 2, length: 2, proofLayers: 2 }))
  assert.equal(leaves.uncles.length, 2)
  const top = resolveHashes(leaves)
  assert.deepEqual([top.height, top.index, Buffer.from(top.hash).toString('hex')], [3, 0, Buffer.from(long.piecesRoot).toString('hex')])
  // Two piece hashes (layer 1) of the four, with their one uncle.
  const pieces = decodeHashes(await ask({ piecesRoot: long.piecesRoot, baseLayer: 1, index: 2, length: 2, proofLayers: 1 }))
  assert.equal(pieces.uncles.length, 1)
  assert.deepEqual(Buffer.from(resolveHashes(pieces).hash), Buffer.from(long.piecesRoot))
})

test('libtorrent 2.0, hybrid torrent: hash requests are answered on a v2 connection (truncated v2 hash), and close a v1 one', { skip: !hasLibtorrent && 'python3-libtorrent is not installed' }, async (t) => {
  const meta = parseTorrent(v2Fixture('hybrid-multi.torrent'))
  const port = await seeder(fileURLToPath(new URL('hybrid-multi.torrent', V2_FIXTURES)), t)
  const long = meta.v2Files?.find(f => f.path.endsWith('long.bin'))
  assert.ok(long?.piecesRoot !== undefined)
  const req: HashRequest = { piecesRoot: long.piecesRoot, baseLayer: 1, index: 0, length: 4, proofLayers: 1 }
  const outcome = async (infoHash: Uint8Array): Promise<string> => {
    const peer = await dial(port, infoHash, t)
    peer.send(HashMessageId.hashRequest, encodeHashRequest(req))
    try {
      const [id] = await peer.next([HashMessageId.hashes, HashMessageId.hashReject], 5000)
      return id === HashMessageId.hashes ? 'hashes' : 'reject'
    } catch {
      return peer.closed ? 'closed' : 'silence'
    }
  }
  const viaV2 = await outcome((meta.infoHashV2 as Uint8Array).subarray(0, 20))
  const viaV1 = await outcome(meta.infoHash)
  t.diagnostic(`via the truncated v2 hash: ${viaV2}; via the v1 hash: ${viaV1}`)
  assert.equal(viaV2, 'hashes')
  // libtorrent serves hashes only on v2 connections and closes a v1 one that asks: the engine
  // must send hash requests only where the handshake carried the truncated v2 hash.
  assert.equal(viaV1, 'closed')
})

test('BEP 52 handshake: our dial of a hybrid sets the v2 bit; libtorrent 2.0 upgrades the connection to the truncated v2 hash, which we accept, and answers hash requests on it', { skip: !hasLibtorrent && 'python3-libtorrent is not installed' }, async (t) => {
  const meta = parseTorrent(v2Fixture('hybrid-multi.torrent'))
  const port = await seeder(fileURLToPath(new URL('hybrid-multi.torrent', V2_FIXTURES)), t)
  const truncated = (meta.infoHashV2 as Uint8Array).subarray(0, 20)
  const base = { host: '127.0.0.1', port, infoHash: meta.infoHash, pieceCount: meta.pieceCount, encryption: 'off' as const, utpMode: 'off' as const }
  const conn = await connectPeer({ ...base, ...v2Handshake(meta) })
  t.after(() => conn.destroy())
  conn.on('error', () => {})
  assert.equal(conn.upgradedToV2, true, 'libtorrent answered with the truncated v2 hash')
  assert.ok(Buffer.from(conn.infoHash as Uint8Array).equals(Buffer.from(truncated)))
  const long = meta.v2Files?.find(f => f.path.endsWith('long.bin'))
  assert.ok(long?.piecesRoot !== undefined)
  const answered = new Promise<number>(resolve => conn.on('data', (m: unknown) => { const msg = m as { type: string, id?: number }; if (msg.type === 'unknown') resolve(msg.id as number) }))
  conn.write({ type: 'unknown', id: HashMessageId.hashRequest, payload: encodeHashRequest({ piecesRoot: long.piecesRoot, baseLayer: 1, index: 0, length: 4, proofLayers: 1 }) })
  assert.equal(await answered, HashMessageId.hashes)
  // libtorrent keeps one connection per address: it closes a new one until it saw this one go.
  conn.destroy()
  // The bit alone, without the v2 hash accepted, is what breaks: the upgraded answer is refused.
  let why = ''
  for (let i = 0; i < 50 && !why.includes('answered for info hash'); i++) {
    why = await connectPeer({ ...base, v2: true }).then(c => { c.destroy(); return 'connected' }, (err: Error) => err.message)
    if (why.includes('closed the connection')) await new Promise(resolve => setTimeout(resolve, 100))
  }
  assert.match(why, /answered for info hash/)
})
