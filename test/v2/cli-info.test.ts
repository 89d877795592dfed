import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { main } from '../../lib/cli/main.js'
import { fakeIO } from '../helpers.js'
import { V2_FIXTURES, v2Expected } from './helpers.js'

const path = (name: string): string => fileURLToPath(new URL(name, V2_FIXTURES))

test('info --json on a v2-only torrent: both hashes, the pieces roots and the piece layers status', async () => {
  const want = v2Expected['v2-multi'] as (typeof v2Expected)[string]
  const io = fakeIO()
  assert.equal(await main(['info', '--json', path('v2-multi.torrent')], io), 0)
  const j = JSON.parse(io.out()) as { infoHash: string, infoHashV2: string, version: string, files: { path: string, piecesRoot?: string }[], pieceLayers: { status: string, files: { path: string, verified: boolean }[] } }
  assert.equal(j.version, 'v2')
  assert.equal(j.infoHashV2, want.infoHashV2)
  assert.equal(j.infoHash, want.infoHashV2.slice(0, 40))
  assert.deepEqual(j.files.filter(f => f.piecesRoot !== undefined).map(f => f.piecesRoot), want.files.filter(f => f.piecesRoot !== null).map(f => f.piecesRoot))
  assert.equal(j.pieceLayers.status, 'complete')
  assert.deepEqual(j.pieceLayers.files.map(f => [f.path, f.verified]), [['mixed/b/long.bin', true], ['mixed/z.bin', true]])
})

test('info (text) on a hybrid: the v1 hash, the v2 hash and the file tree', async () => {
  const want = v2Expected['hybrid-multi'] as (typeof v2Expected)[string]
  const io = fakeIO()
  assert.equal(await main(['info', path('hybrid-multi.torrent')], io), 0)
  assert.match(io.out(), new RegExp(`^info hash: +${want.infoHashV1 ?? ''}$`, 'm'))
  assert.match(io.out(), new RegExp(`^v2 hash: +${want.infoHashV2}$`, 'm'))
  assert.match(io.out(), /^piece layers: 2 verified against their pieces roots$/m)
  assert.match(io.out(), /^ {2}\(empty file\) +mixed\/b\/empty\.txt$/m)
})

test('info --no-fetch on a v2-only magnet: the truncated hash is the swarm id', async () => {
  const want = v2Expected['v2-single'] as (typeof v2Expected)[string]
  const uri = `magnet:?xt=urn:btmh:1220${want.infoHashV2}`
  const io = fakeIO()
  assert.equal(await main(['info', '--no-fetch', '--json', uri], io), 0)
  assert.deepEqual(JSON.parse(io.out()), { kind: 'magnet', infoHash: want.infoHashV2.slice(0, 40), version: 'v2', infoHashV2: want.infoHashV2, trackers: [], peers: [], webSeeds: [] })
})
