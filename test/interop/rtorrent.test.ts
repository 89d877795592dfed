import { test } from 'node:test'
import { rtorrent, RtorrentClient } from '../../interop/clients/rtorrent.js'
import { clientSeedsWeDownload, interopCases, makeFixture, TEST_TIMEOUT_MS, weSeedClientDownloads } from './real-clients-helpers.js'

// bt-stream against rtorrent, both directions, single- and multi-file: see real-clients-helpers.ts
// and interop/clients/rtorrent.ts for the loopback settings.
interopCases(test, rtorrent)

// rtorrent ignores the reqq (BEP 10) we advertise: through a logging proxy it kept up to 447
// requests in flight against our 250 on this 128 MiB torrent. Before the seeder held them (issue
// 10, item 8) the ones beyond 250 were dropped, rtorrent never asked again, and this timed out.
test('bt-stream seed serves 128 MiB to rtorrent, which (no BEP 6) ignores our reqq and keeps hundreds of requests in flight: none is lost, the download completes byte-identical (issue 10, item 8)', { timeout: TEST_TIMEOUT_MS }, async t => {
  const why = await rtorrent.unavailable()
  if (why !== undefined) { t.skip(why); return }
  await weSeedClientDownloads(t, rtorrent, await makeFixture(t, 'large'))
})

// With `require,require_RC4` rtorrent speaks MSE/PE only (RC4 both ways) and closes a plaintext
// handshake: our default (both accepted, plaintext dialed first) must fall back to MSE when we
// dial, and accept its MSE handshake when it dials us. Before lib/crypto both timed out.
const rtorrentRc4 = new RtorrentClient({ encryption: 'require,require_RC4' })
test('rtorrent requiring encryption (MSE, RC4) downloads from bt-stream seed byte-identical: we accept its MSE handshake', { timeout: TEST_TIMEOUT_MS }, async t => {
  const why = await rtorrentRc4.unavailable()
  if (why !== undefined) { t.skip(why); return }
  await weSeedClientDownloads(t, rtorrentRc4, await makeFixture(t, 'single'))
})

test('rtorrent requiring encryption (MSE, RC4) seeds; bt-stream downloads to stdout byte-identical: we retry with MSE when it closes our plaintext handshake', { timeout: TEST_TIMEOUT_MS }, async t => {
  const why = await rtorrentRc4.unavailable()
  if (why !== undefined) { t.skip(why); return }
  await clientSeedsWeDownload(t, rtorrentRc4, await makeFixture(t, 'single'), 'stdout')
})
