import { test } from 'node:test'
import assert from 'node:assert/strict'
import { routeExtended } from '../../lib/extensions/extension-router.js'
import { MetadataFetcher } from '../../lib/extensions/metadata-fetcher.js'
import { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { encodePex, flagsFromByte } from '../../lib/extensions/pex-codec.js'
import { PexTracker } from '../../lib/extensions/pex-tracker.js'
import { encodeUtMetadata } from '../../lib/extensions/ut-metadata-codec.js'
import { FakePeer, infoDict } from './helpers.js'

test('BEP 10: id 0 offers the peer to the fetcher, our ut_metadata id goes to fetcher and responder, ut_pex to PEX, others are ignored', () => {
  const meta = infoDict(10)
  const fetcher = new MetadataFetcher<FakePeer>({ infoHash: meta.infoHash, timeout: 1000 })
  const responder = new MetadataResponder({ infoBytes: meta.bytes })
  const learned: string[] = []
  const pex = new PexTracker<FakePeer>({ onPeers: (peers) => learned.push(...peers.map(p => p.host)) })
  const h = { fetcher, responder, pex }
  const peer = new FakePeer('p', meta.bytes.length)
  peer.peerExtendedHandshake.m.ut_pex = 4
  pex.connected(peer, { host: '10.0.0.1', port: 6881 })
  assert.equal(routeExtended(peer, 0, new Uint8Array(), h), true)
  assert.deepEqual(peer.requested, [0]) // the fetcher asked for the one piece
  assert.equal(routeExtended(peer, 1, encodeUtMetadata({ type: 'request', piece: 0 }), h), true)
  assert.equal(peer.sent.at(-1)?.msg.type, 'data') // the responder answered
  assert.equal(routeExtended(peer, 2, encodePex({ added: [{ host: '10.0.0.9', port: 1, flags: flagsFromByte(0) }], dropped: [] }), h), true)
  assert.deepEqual(learned, ['10.0.0.9'])
  assert.equal(routeExtended(peer, 7, new Uint8Array(), h), false)
  fetcher.destroy()
})
