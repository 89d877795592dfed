import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as api from '../lib/index.js'
import { expected, fixture } from './helpers.js'

test('the package entry exports the parsing API (import { parseTorrent } from \'bt-stream\')', async () => {
  assert.equal(api.parseTorrent(fixture('single.torrent')).infoHashHex, expected.single?.infoHashV1)
  // Resolved by package name through package.json "exports", as a user would import it. A
  // variable, so tsc does not need dist/ to exist before it has built it.
  const pkg = 'bt-stream'
  const byName = await import(pkg) as typeof api
  assert.equal(byName.parseTorrent(fixture('single.torrent')).infoHashHex, expected.single?.infoHashV1)
  // The entry is the modules bundled into one file (scripts/bundle.mjs): the same exports.
  assert.match(import.meta.resolve(pkg), /\/dist\/lib\/bundle\/index\.js$/)
  assert.deepEqual(Object.keys(byName).sort(), Object.keys(api).sort())
  for (const name of ['parseTorrent', 'parseInfoDict', 'parseMagnet', 'pieceLengthAt', 'pieceHash', 'piecesForFile', 'filesInRange', 'decodeBencode', 'MetainfoError', 'download', 'Swarm', 'PiecePicker', 'MergingWritable', 'chunker', 'downloadToDisk', 'fetchMagnetMetadata', 'seedFromDisk', 'Uploader', 'Choker', 'PeerListener', 'Seeder'] as const) {
    assert.equal(typeof byName[name], 'function', name)
  }
  assert.equal(typeof byName.wire.PeerConnection, 'function', 'the wire is importable on its own')
  assert.equal(typeof byName.tracker.Announcer, 'function', 'the trackers are importable on their own')
})
