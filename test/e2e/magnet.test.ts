/**
 * Magnet links end to end (BEP 9 metadata from peers, then the download), against webtorrent
 * seeders no one here wrote: found through a real tracker (`tr=`), and with no tracker at all
 * through a private DHT of bittorrent-dht nodes on 127.0.0.1 (BEP 5). Nothing leaves loopback:
 * every DHT node binds 127.0.0.1 and the bootstrap nodes are given explicitly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import DHT from 'bittorrent-dht'
import { main } from '../../lib/cli/main.js'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { download } from '../../lib/session/download.js'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { collect, deadPort, fakeIO } from '../helpers.js'
import { seededBytes } from '../swarm/fixture-torrent.js'
import { within } from '../wire/helpers.js'
import { startLocalSwarm } from './local-swarm.js'


test('magnet with tr=: metadata from webtorrent seeders (BEP 9), then a byte-identical download', async () => {
  const data = seededBytes(3 * 1024 * 1024 + 17, 41)
  const swarm = await startLocalSwarm([{ name: 'm.bin', data }], { seeders: 2, pieceLength: 128 * 1024 })
  try {
    const magnet = parseMagnet(`magnet:?xt=urn:btih:${swarm.meta.infoHashHex}&dn=m.bin&tr=${encodeURIComponent(swarm.announce)}`)
    const got = await fetchMagnetMetadata(magnet, { timeoutMs: 30_000 })
    assert.equal(got.meta.infoHashHex, swarm.meta.infoHashHex)
    assert.deepEqual(got.meta.announce, [[swarm.announce]], 'the magnet\'s trackers carry over')
    assert.ok(got.peers.length > 0)
    const out = await collect(download(got.meta, { peers: got.peers, stallTimeoutMs: 30_000 }))
    assert.ok(out.equals(data), 'byte-identical')
  } finally {
    await swarm.close()
  }
})

test('bt-stream info <magnet> --save-torrent: fetches, prints, and writes a .torrent with the same info hash', async () => {
  const data = seededBytes(500_000, 42)
  const swarm = await startLocalSwarm([{ name: 'i.bin', data }], { seeders: 1, pieceLength: 32 * 1024 })
  const dir = mkdtempSync(join(tmpdir(), 'bt-magnet-'))
  try {
    const uri = `magnet:?xt=urn:btih:${swarm.meta.infoHashHex}&tr=${encodeURIComponent(swarm.announce)}`
    const io = fakeIO()
    const saved = join(dir, 'saved.torrent')
    assert.equal(await main(['info', '--json', '--no-dht', '--save-torrent', saved, uri], io), 0, io.err())
    const json = JSON.parse(io.out()) as { infoHash: string, name: string, length: number }
    assert.equal(json.infoHash, swarm.meta.infoHashHex)
    assert.equal(json.name, 'i.bin')
    assert.equal(json.length, data.length)
    const reparsed = parseTorrent(readFileSync(saved))
    assert.equal(reparsed.infoHashHex, swarm.meta.infoHashHex)
    assert.deepEqual(reparsed.announce, [[swarm.announce]])
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await swarm.close()
  }
})

/** A plain bittorrent-dht node on 127.0.0.1 joined through `bootstrap`. */
async function dhtNode (bootstrap: string[]): Promise<DHT> {
  const dht = new DHT({ bootstrap: bootstrap.length === 0 ? false : bootstrap })
  dht.on('error', () => {})
  dht.on('warning', () => {})
  const listening = new Promise<void>(resolve => { dht.once('listening', resolve) })
  dht.listen(0, '127.0.0.1')
  await within(5000, 'DHT node listening', listening)
  await within(5000, 'DHT node ready', new Promise<void>(resolve => { if (dht.ready) resolve(); else dht.once('ready', resolve) }))
  return dht
}

test('magnet with no tracker: peers from a private loopback DHT (BEP 5), metadata, download', async () => {
  const data = seededBytes(1024 * 1024 + 5, 43)
  const swarm = await startLocalSwarm([{ name: 'd.bin', data }], { seeders: 1, pieceLength: 64 * 1024 })
  const nodes: DHT[] = []
  try {
    nodes.push(await dhtNode([]))
    const first = `127.0.0.1:${nodes[0]!.address().port}`
    nodes.push(await dhtNode([first]), await dhtNode([first]))
    const bootstrap = nodes.map(n => `127.0.0.1:${n.address().port}`)
    // One DHT node announces the webtorrent seeder's port for the info hash.
    await within(10_000, 'announce', new Promise<void>((resolve, reject) => {
      nodes[1]!.announce(Buffer.from(swarm.meta.infoHash), swarm.seederPorts[0]!, err => { if (err === null || err === undefined) resolve(); else reject(err) })
    }))
    const magnet = parseMagnet(`magnet:?xt=urn:btih:${swarm.meta.infoHashHex}`)
    const dht = { dht: true, dhtBootstrap: bootstrap, dhtBind: '127.0.0.1' }
    const got = await fetchMagnetMetadata(magnet, { ...dht, timeoutMs: 30_000 })
    assert.equal(got.meta.infoHashHex, swarm.meta.infoHashHex)
    assert.deepEqual(got.meta.announce, [], 'a trackerless magnet stays trackerless')
    const out = await collect(download(got.meta, { ...dht, stallTimeoutMs: 30_000 }))
    assert.ok(out.equals(data), 'byte-identical, with peers from the DHT only')
  } finally {
    await Promise.all(nodes.map(n => new Promise<void>(resolve => n.destroy(() => resolve()))))
    await swarm.close()
  }
})

test('bt-stream "magnet:?..." > out: the real binary, metadata then the file on stdout', async () => {
  const { spawn } = await import('node:child_process')
  const { createHash } = await import('node:crypto')
  const data = seededBytes(2 * 1024 * 1024 + 1, 44)
  const swarm = await startLocalSwarm([{ name: 'c.bin', data }], { seeders: 2, pieceLength: 64 * 1024 })
  try {
    const uri = `magnet:?xt=urn:btih:${swarm.meta.infoHashHex}&dn=c.bin&tr=${encodeURIComponent(swarm.announce)}`
    const bin = new URL('../../../bin/bt-stream.js', import.meta.url).pathname
    const child = spawn(process.execPath, [bin, uri, '--no-dht', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const hash = createHash('sha1')
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => hash.update(c))
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const code = await within(60_000, 'bt-stream magnet', new Promise(resolve => child.once('close', resolve)))
    assert.equal(code, 0, stderr)
    assert.equal(hash.digest('hex'), createHash('sha1').update(data).digest('hex'))
  } finally {
    await swarm.close()
  }
})

test('BEP 5 as the fallback: every tracker fails, the DHT still finds the swarm', async () => {
  const data = seededBytes(600_000, 45)
  const swarm = await startLocalSwarm([{ name: 'f.bin', data }], { seeders: 1, pieceLength: 32 * 1024 })
  const nodes: DHT[] = []
  try {
    nodes.push(await dhtNode([]))
    const first = `127.0.0.1:${nodes[0]!.address().port}`
    nodes.push(await dhtNode([first]))
    await within(10_000, 'announce', new Promise<void>((resolve, reject) => {
      nodes[1]!.announce(Buffer.from(swarm.meta.infoHash), swarm.seederPorts[0]!, err => { if (err === null || err === undefined) resolve(); else reject(err) })
    }))
    // The same torrent, but its tracker is a closed port.
    const closed = `http://127.0.0.1:${await deadPort('tcp')}/announce`
    const meta = { ...swarm.meta, announce: [[closed]] }
    const stream = download(meta, { dht: 'fallback', dhtBootstrap: nodes.map(n => `127.0.0.1:${n.address().port}`), dhtBind: '127.0.0.1', stallTimeoutMs: 30_000 })
    const trackerErrors: string[] = []
    stream.on('tracker-error', f => trackerErrors.push(f.url))
    assert.ok((await collect(stream)).equals(data))
    assert.deepEqual(trackerErrors.slice(0, 1), [closed], 'the tracker failed first')
  } finally {
    await Promise.all(nodes.map(n => new Promise<void>(resolve => n.destroy(() => resolve()))))
    await swarm.close()
  }
})
