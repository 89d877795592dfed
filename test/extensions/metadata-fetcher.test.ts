import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MetadataFetcher, type MetadataFetcherOptions } from '../../lib/extensions/metadata-fetcher.js'
import { encodeUtMetadata } from '../../lib/extensions/ut-metadata-codec.js'
import { parseInfoDict } from '../../lib/metainfo/parse.js'
import { DownloadError } from '../../lib/util/errors.js'
import { within } from '../wire/helpers.js'
import { corrupt, FakePeer, infoDict, serving, tick } from './helpers.js'

const META = infoDict(2000) // 40 KB of pieces: three metadata pieces

function fetcher (opts: Partial<MetadataFetcherOptions<FakePeer>> = {}): { f: MetadataFetcher<FakePeer>, bad: Array<[string, string]> } {
  const bad: Array<[string, string]> = []
  const f = new MetadataFetcher<FakePeer>({ infoHash: META.infoHash, timeout: 5000, onBadPeer: (c, reason) => bad.push([c.name, reason]), ...opts })
  return { f, bad }
}

function join (f: MetadataFetcher<FakePeer>, ...peers: FakePeer[]): void {
  for (const p of peers) {
    p.deliver = (payload) => { f.onExtended(p, payload) }
    assert.equal(f.addPeer(p), undefined, p.name)
  }
}

test('BEP 9: the info dict is fetched in 16 KiB pieces spread over peers and verified', async () => {
  const { f, bad } = fetcher({ maxInFlightPerPeer: 1 })
  const peers = ['a', 'b', 'c'].map(n => new FakePeer(n, META.bytes.length))
  // The peers answer only once every one joined, so the spread does not depend on timing.
  join(f, ...peers)
  assert.deepEqual(peers.map(p => p.requested), [[0], [1], [2]])
  peers.forEach((p) => { f.onExtended(p, serving(META.bytes)(p.requested[0] as number)) })
  const bytes = await within(2000, 'metadata', f.metadata)
  assert.ok(Buffer.from(bytes).equals(META.bytes))
  assert.equal(parseInfoDict(bytes, { expectedInfoHash: META.infoHash }).infoHashHex, Buffer.from(META.infoHash).toString('hex'))
  assert.deepEqual(bad, [])
})

test('BEP 9: a peer whose bytes fail SHA-1 in a shared assembly is found (solo retries) and dropped; the honest one supplies', async () => {
  const { f, bad } = fetcher({ maxInFlightPerPeer: 1 })
  const liar = new FakePeer('liar', META.bytes.length, serving(corrupt(META.bytes)))
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, liar, honest)
  const bytes = await within(2000, 'metadata', f.metadata)
  assert.ok(Buffer.from(bytes).equals(META.bytes))
  assert.deepEqual(bad.map(b => b[0]), ['liar'])
  assert.match(bad[0]?.[1] ?? '', /hash|differs/)
})

test('BEP 9: the liar is named even when the honest peer answers the solo retry first', async () => {
  const { f, bad } = fetcher({ maxInFlightPerPeer: 1 })
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  const liar = new FakePeer('liar', META.bytes.length, serving(corrupt(META.bytes)))
  join(f, honest, liar)
  const bytes = await within(2000, 'metadata', f.metadata)
  assert.ok(Buffer.from(bytes).equals(META.bytes))
  assert.deepEqual(bad.map(b => b[0]), ['liar'])
  assert.match(bad[0]?.[1] ?? '', /differs from the verified metadata/)
})

test('BEP 9 bounds: metadata_size ≤ 0, above 8 MiB or missing is refused; no ut_metadata is refused', () => {
  const { f } = fetcher()
  assert.match(f.addPeer(new FakePeer('huge', 9 * 1024 * 1024)) ?? '', /above our limit/)
  assert.match(f.addPeer(new FakePeer('zero', 0)) ?? '', /no metadata_size/)
  assert.match(f.addPeer(new FakePeer('none', undefined)) ?? '', /no metadata_size/)
  const noExt = new FakePeer('noext', 100)
  noExt.peerExtendedHandshake = { m: { ut_pex: 2 }, metadataSize: 100 }
  assert.match(f.addPeer(noExt) ?? '', /does not offer ut_metadata/)
  f.destroy()
})

test('BEP 9 bounds: a piece of the wrong length, past the end, or with another total_size drops the peer', async () => {
  const cases: Array<[string, (piece: number) => Uint8Array, RegExp]> = [
    ['short', (piece) => encodeUtMetadata({ type: 'data', piece, totalSize: META.bytes.length, data: new Uint8Array(100) }), /has 100 bytes, expected 16384/],
    ['past', () => encodeUtMetadata({ type: 'data', piece: 3, totalSize: META.bytes.length, data: new Uint8Array(10) }), /past the last piece/],
    ['total', (piece) => encodeUtMetadata({ type: 'data', piece, totalSize: 99, data: new Uint8Array(99) }), /total_size 99, which differs/],
    ['garbage', () => Buffer.from('not bencode'), /malformed ut_metadata/]
  ]
  for (const [name, reply, reason] of cases) {
    const { f, bad } = fetcher()
    const hostile = new FakePeer(name, META.bytes.length, reply)
    join(f, hostile)
    await tick()
    assert.equal(bad.length, 1, name)
    assert.match(bad[0]?.[1] ?? '', reason)
    // Its requests went nowhere; an honest peer joining later gets all of them.
    const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
    join(f, honest)
    assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  }
})

test('BEP 9 reject: the piece is not asked of that peer again, but of another', async () => {
  const { f, bad } = fetcher()
  const rejecter = new FakePeer('rejecter', META.bytes.length, (piece) =>
    piece === 1 ? encodeUtMetadata({ type: 'reject', piece }) : serving(META.bytes)(piece))
  join(f, rejecter)
  await tick()
  assert.deepEqual(rejecter.requested, [0, 1, 2])
  assert.equal(f.done, false)
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, honest)
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(honest.requested, [1])
  assert.deepEqual(rejecter.requested, [0, 1, 2])
  assert.deepEqual(bad, [])
})

test('BEP 9: data for a piece we did not ask that peer for is not trusted', async () => {
  const { f, bad } = fetcher({ maxInFlightPerPeer: 1 })
  const pusher = new FakePeer('pusher', META.bytes.length)
  join(f, pusher)
  assert.deepEqual(pusher.requested, [0])
  const wrong = serving(corrupt(META.bytes))
  f.onExtended(pusher, wrong(1))
  f.onExtended(pusher, wrong(2))
  assert.equal(f.stats.piecesHave, 0)
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, honest)
  pusher.reply = serving(META.bytes)
  f.onExtended(pusher, serving(META.bytes)(0))
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(bad, [])
})

test('BEP 9: a peer that never answers times out and is not asked again', async () => {
  const { f, bad } = fetcher({ requestTimeout: 50 })
  const silent = new FakePeer('silent', META.bytes.length)
  join(f, silent)
  assert.deepEqual(silent.requested, [0, 1, 2])
  await within(2000, 'retired', (async () => { while (f.stats.retired === 0) await new Promise(resolve => setTimeout(resolve, 10)) })())
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, honest)
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(honest.requested.sort(), [0, 1, 2])
  assert.deepEqual(silent.requested, [0, 1, 2])
  assert.deepEqual(bad, [])
})

test('BEP 9 end game: an idle peer also asks for pieces a silent peer holds, before any timeout', async () => {
  const { f, bad } = fetcher({ requestTimeout: 60_000, maxInFlightPerPeer: 1 })
  const silent = new FakePeer('silent', META.bytes.length)
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, silent, honest)
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(silent.requested, [0])
  assert.deepEqual(honest.requested, [1, 2, 0])
  assert.deepEqual(bad, [])
})

test('BEP 9: no honest peer within the timeout is a DownloadError that says what each peer did', async () => {
  const { f, bad } = fetcher({ timeout: 300, requestTimeout: 50 })
  join(f, new FakePeer('liar', META.bytes.length, serving(corrupt(META.bytes))), new FakePeer('silent', META.bytes.length))
  await assert.rejects(within(3000, 'failure', f.metadata), (err: Error) => {
    assert.ok(err instanceof DownloadError)
    assert.match(err.message, /no peer supplied valid metadata within 300 ms/)
    assert.match(err.message, /bad: sent metadata that does not hash/)
    assert.match(err.message, /retired: left \d requests unanswered/)
    return true
  })
  assert.deepEqual(bad.map(b => b[0]), ['liar'])
})

test('BEP 9: peers disagreeing on metadata_size: the size most peers give is fetched', async () => {
  const { f, bad } = fetcher()
  const odd = new FakePeer('odd', 5000, serving(new Uint8Array(5000)))
  const a = new FakePeer('a', META.bytes.length)
  const b = new FakePeer('b', META.bytes.length)
  a.deliver = (x) => { f.onExtended(a, x) }
  b.deliver = (x) => { f.onExtended(b, x) }
  odd.deliver = (x) => { f.onExtended(odd, x) }
  // a and b join first without answering; the odd peer's size has one vote against two.
  f.addPeer(a); f.addPeer(b); f.addPeer(odd)
  assert.deepEqual(odd.requested, [])
  a.reply = serving(META.bytes)
  for (const piece of a.requested) f.onExtended(a, serving(META.bytes)(piece))
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(bad, [])
})

test('BEP 9: a closed connection gives its requests to the others; destroy rejects', async () => {
  const { f } = fetcher()
  const leaving = new FakePeer('leaving', META.bytes.length)
  join(f, leaving)
  const honest = new FakePeer('honest', META.bytes.length, serving(META.bytes))
  join(f, honest)
  f.removePeer(leaving)
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  const { f: g } = fetcher()
  g.destroy()
  await assert.rejects(g.metadata, /stopped/)
})

test('BEP 10 reqq: a peer that queues one request is sent one at a time', async () => {
  const { f } = fetcher()
  const peer = new FakePeer('small', META.bytes.length)
  ;(peer.peerExtendedHandshake as { reqq?: number }).reqq = 1
  join(f, peer)
  assert.deepEqual(peer.requested, [0])
  peer.reply = serving(META.bytes)
  f.onExtended(peer, serving(META.bytes)(0))
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(peer.requested, [0, 1, 2])
})

test('BEP 9: while one peer supplies alone to find a liar, late answers from other peers are not mixed in', async () => {
  const { f, bad } = fetcher({ maxInFlightPerPeer: 1 })
  const wrong = serving(corrupt(META.bytes))
  const liar = new FakePeer('liar', META.bytes.length, (piece) => piece === 0 ? wrong(0) : undefined)
  const honest = new FakePeer('honest', META.bytes.length)
  const late = new FakePeer('late', META.bytes.length)
  join(f, liar, honest, late)
  await tick()
  // The liar answered 0 and, idle, also asked for 1 (end game); 2 is late's.
  assert.deepEqual([liar.requested, honest.requested, late.requested], [[0, 1], [1], [2]])
  f.onExtended(honest, serving(META.bytes)(1))
  assert.deepEqual(honest.requested, [1, 2])
  f.onExtended(honest, serving(META.bytes)(2))
  // 0 from the liar, 1 and 2 from the honest peer: SHA-1 fails, the honest peer (most answers) goes solo.
  assert.deepEqual(honest.requested, [1, 2, 0])
  f.onExtended(late, wrong(2)) // a late answer to the old request: not part of the solo assembly
  honest.reply = serving(META.bytes)
  f.onExtended(honest, serving(META.bytes)(0))
  assert.ok(Buffer.from(await within(2000, 'metadata', f.metadata)).equals(META.bytes))
  assert.deepEqual(honest.requested, [1, 2, 0, 1, 2])
  assert.deepEqual(bad.map(b => b[0]), ['liar'])
  assert.match(bad[0]?.[1] ?? '', /piece 0 that differs/)
})

test('BEP 9: each peer\'s outcome is told to the owner (describePeer while connected, removePeer when it leaves)', async () => {
  const { f } = fetcher()
  const liar = new FakePeer('liar', META.bytes.length, serving(corrupt(META.bytes)))
  join(f, liar)
  await within(2000, 'liar found', (async () => { while (f.stats.bad === 0) await tick() })())
  assert.equal(f.describePeer(liar), 'sent metadata that does not hash to the info hash')
  assert.equal(f.removePeer(liar), 'sent metadata that does not hash to the info hash')
  const asked = new FakePeer('asked', META.bytes.length)
  join(f, asked)
  assert.equal(f.describePeer(asked), 'still asked, no valid answer yet')
  assert.equal(f.removePeer(asked), 'closed the connection before sending the metadata')
  assert.equal(f.removePeer(new FakePeer('never added', META.bytes.length)), undefined)
  f.destroy()
})

test('BEP 9: timeout Infinity sets no timer of its own (the owner keeps the deadline) and destroy(err) rejects with err', async () => {
  const { f } = fetcher({ timeout: Infinity })
  await new Promise(resolve => setTimeout(resolve, 50))
  assert.equal(f.done, false, 'setTimeout(fn, Infinity) would have fired at once')
  f.destroy(new DownloadError('the owner\'s reason'))
  await assert.rejects(f.metadata, /the owner's reason/)
})
