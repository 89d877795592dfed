import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import WebTorrent from 'webtorrent'
import { ourExtensions } from '../../lib/extensions/extension-ids.js'
import { MetadataFetcher } from '../../lib/extensions/metadata-fetcher.js'
import { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { parseInfoDict } from '../../lib/metainfo/parse.js'
import { connect, type PeerConnection } from '../../lib/wire/index.js'
import { prng, within } from '../wire/helpers.js'
import { webtorrentSeeder, WT_OPTS } from './webtorrent-helpers.js'
import { infoDict } from './helpers.js'
import { attach, metadataSeeder } from './wire-peers.js'

test('BEP 9 interop: our fetcher gets the info dict from a webtorrent seeder and it hashes to webtorrent\'s info hash', async (t) => {
  // 2000 pieces of 1 KiB: a 40 KB `pieces` string, so the metadata spans three 16 KiB pieces.
  const rand = prng(0x5eed)
  const content = new Uint8Array(2000 * 1024).map(() => Math.floor(rand() * 256))
  const { client, torrent, port } = await webtorrentSeeder(content, 1024)
  let conn: PeerConnection | undefined
  try {
    const infoHash = Buffer.from(torrent.infoHash, 'hex')
    const fetcher = new MetadataFetcher<PeerConnection>({ infoHash, timeout: 10_000, requestTimeout: 3000, onBadPeer: (c, reason) => { c.destroy(new Error(reason)) } })
    const started = performance.now()
    conn = await connect({ host: '127.0.0.1', port, infoHash, extensions: ourExtensions(), connectTimeout: 5000, handshakeTimeout: 5000 })
    attach(conn, { fetcher })
    const bytes = await within(10_000, 'metadata from webtorrent', fetcher.metadata)
    t.diagnostic(`metadata (${bytes.length} bytes, ${Math.ceil(bytes.length / 16384)} pieces) from webtorrent in ${(performance.now() - started).toFixed(1)} ms, connect included`)
    assert.ok(bytes.length > 2 * 16384)
    assert.equal(conn.peerExtendedHandshake?.metadataSize, bytes.length)
    const meta = parseInfoDict(bytes, { expectedInfoHash: infoHash })
    assert.equal(meta.infoHashHex, torrent.infoHash)
    assert.equal(meta.name, 'interop.bin')
    assert.equal(meta.length, content.length)
    assert.equal(meta.pieceCount, 2000)
  } finally {
    conn?.destroy()
    await new Promise<void>((resolve) => { client.destroy(() => resolve()) })
  }
})

test('BEP 9 interop: webtorrent, given a magnet and our address, gets the info dict from our responder', async () => {
  const META = infoDict(2500, 11)
  const hex = Buffer.from(META.infoHash).toString('hex')
  const seeder = await metadataSeeder(META.infoHash, new MetadataResponder({ infoBytes: META.bytes }), ourExtensions({ metadataSize: META.bytes.length }))
  const dir = mkdtempSync(join(tmpdir(), 'bt-stream-wt-'))
  const client = new WebTorrent(WT_OPTS)
  client.on('error', () => {})
  try {
    const torrent = client.add(`magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1:${seeder.port}`, { path: dir })
    await within(10_000, 'webtorrent metadata', new Promise<void>((resolve, reject) => {
      torrent.once('metadata', () => { resolve() })
      torrent.once('error', reject)
    }))
    assert.equal(torrent.infoHash, hex)
    assert.ok(Buffer.from(torrent.metadata).includes(Buffer.from(META.bytes)))
  } finally {
    await new Promise<void>((resolve) => { client.destroy(() => resolve()) })
    await seeder.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
