import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ourExtensions } from '../../lib/extensions/extension-ids.js'
import { MetadataFetcher } from '../../lib/extensions/metadata-fetcher.js'
import { MetadataResponder } from '../../lib/extensions/metadata-responder.js'
import { parseInfoDict } from '../../lib/metainfo/parse.js'
import { DownloadError } from '../../lib/util/errors.js'
import { connect, type PeerConnection } from '../../lib/wire/index.js'
import { within } from '../wire/helpers.js'
import { corrupt, infoDict } from './helpers.js'
import { attach, metadataSeeder } from './wire-peers.js'

const META = infoDict(2500, 7) // three metadata pieces

async function dial (port: number, fetcher: MetadataFetcher<PeerConnection>): Promise<PeerConnection> {
  const conn = await connect({ host: '127.0.0.1', port, infoHash: META.infoHash, extensions: ourExtensions(), connectTimeout: 3000, handshakeTimeout: 3000 })
  attach(conn, { fetcher })
  return conn
}

test('BEP 9 over TCP: our fetcher gets the info dict from our responders, a liar among them is dropped', async (t) => {
  const size = META.bytes.length
  const honest = await metadataSeeder(META.infoHash, new MetadataResponder({ infoBytes: META.bytes }), { m: { ut_metadata: 5 }, metadataSize: size })
  t.after(() => honest.close())
  // The liar counts the requests it answers, so the test knows it contributed a piece.
  const lies = new MetadataResponder({ infoBytes: corrupt(META.bytes) })
  let liesTold = 0
  const answer = lies.onExtended.bind(lies)
  lies.onExtended = (conn, payload) => { liesTold++; return answer(conn, payload) }
  const liar = await metadataSeeder(META.infoHash, lies, { m: { ut_metadata: 7 }, metadataSize: size })
  t.after(() => liar.close())
  const absurd = await metadataSeeder(META.infoHash, undefined, { m: { ut_metadata: 3 }, metadataSize: 9 * 1024 * 1024 })
  t.after(() => absurd.close())
  const silent = await metadataSeeder(META.infoHash, undefined, { m: { ut_metadata: 3 }, metadataSize: size })
  t.after(() => silent.close())
  const conns: PeerConnection[] = []
  t.after(() => { for (const c of conns) c.destroy() })
  const bad: string[] = []
  const fetcher = new MetadataFetcher<PeerConnection>({
    infoHash: META.infoHash,
    timeout: 15_000,
    requestTimeout: 2000,
    maxInFlightPerPeer: 1,
    onBadPeer: (conn, reason) => { bad.push(`${(conn.socket as { remotePort?: number }).remotePort ?? '?'}: ${reason}`); conn.destroy() }
  })
  const started = performance.now()
  for (const s of [liar, silent, absurd]) conns.push(await dial(s.port, fetcher))
  // The honest peer joins only once the liar has answered a request: its bytes are in the mix.
  await within(5000, 'a request to the liar', (async () => { while (liesTold === 0) await new Promise(resolve => setTimeout(resolve, 10)) })())
  conns.push(await dial(honest.port, fetcher))
  const bytes = await within(15_000, 'metadata', fetcher.metadata)
  t.diagnostic(`metadata (${bytes.length} bytes) from our responder in ${(performance.now() - started).toFixed(1)} ms; the liar answered ${liesTold} requests`)
  const meta = parseInfoDict(bytes, { expectedInfoHash: META.infoHash })
  assert.equal(meta.infoHashHex, Buffer.from(META.infoHash).toString('hex'))
  assert.deepEqual(bad, [`${liar.port}: sent metadata that does not hash to the info hash`], 'the liar, and only the liar, is named')
  assert.equal(conns[0]?.destroyed, true, 'the liar is dropped')
  assert.equal(conns[3]?.destroyed, false, 'the honest peer is kept')
})

test('BEP 9 over TCP: only a liar and a silent peer → a clear DownloadError within the timeout', async (t) => {
  const size = META.bytes.length
  const liar = await metadataSeeder(META.infoHash, new MetadataResponder({ infoBytes: corrupt(META.bytes) }), { m: { ut_metadata: 7 }, metadataSize: size })
  t.after(() => liar.close())
  const silent = await metadataSeeder(META.infoHash, undefined, { m: { ut_metadata: 3 }, metadataSize: size })
  t.after(() => silent.close())
  const conns: PeerConnection[] = []
  try {
    const bad: string[] = []
    const fetcher = new MetadataFetcher<PeerConnection>({ infoHash: META.infoHash, timeout: 1500, requestTimeout: 300, onBadPeer: (conn, reason) => { bad.push(reason); conn.destroy() } })
    for (const s of [liar, silent]) conns.push(await dial(s.port, fetcher))
    await assert.rejects(within(5000, 'failure', fetcher.metadata), (err: Error) => {
      assert.ok(err instanceof DownloadError)
      // The liar was dropped (its connection closed), and still accounted for.
      assert.match(err.message, /no peer supplied valid metadata within 1500 ms \(.*1 peer bad: sent metadata that does not hash/)
      return true
    })
    assert.deepEqual(bad, ['sent metadata that does not hash to the info hash'])
  } finally {
    for (const c of conns) c.destroy()
  }
})
