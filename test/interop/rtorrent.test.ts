import { test } from 'node:test'
import { RtorrentClient } from '../../interop/clients/rtorrent.js'
import { interopCases, makeFixture, TEST_TIMEOUT_MS, weSeedClientDownloads } from './real-clients-helpers.js'

// bt-stream against rtorrent, both directions, single- and multi-file: see real-clients-helpers.ts
// and interop/clients/rtorrent.ts for the loopback settings.
const rtorrent = new RtorrentClient()
interopCases(test, rtorrent)

test('bt-stream seed serves 128 MiB to rtorrent, which (no BEP 6) sends thousands of requests at once: none is lost, the download completes byte-identical (issue 10, item 8)', { timeout: TEST_TIMEOUT_MS }, async t => {
  const why = await rtorrent.unavailable()
  if (why !== undefined) { t.skip(why); return }
  await weSeedClientDownloads(t, rtorrent, await makeFixture(t, 'large'))
})
