import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough, Writable } from 'node:stream'
import bencode from 'bencode'
import { listPeers, command } from '../../lib/cli/commands/peers.js'
import { main } from '../../lib/cli/main.js'
import type { CliIO } from '../../lib/cli/io.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { HttpTracker } from '../../lib/tracker/http-tracker.js'
import { TrackerError, UsageError } from '../../lib/util/errors.js'
import { NEVER, bytes20, hostileHttp, hostileUdp, request, startRealTracker } from '../tracker/helpers.js'

function capture (): { io: CliIO, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  const sink = (append: (s: string) => void): Writable => new Writable({ write (chunk: Buffer, _enc, cb) { append(chunk.toString()); cb() } })
  return {
    io: { stdin: new PassThrough(), stdout: sink(s => { out += s }), stderr: sink(s => { err += s }), signal: new AbortController().signal },
    out: () => out,
    err: () => err
  }
}

const INFO_HASH = bytes20(42)
const meta = (announce: string[][]): Pick<Metainfo, 'infoHash' | 'announce' | 'length'> => ({ infoHash: INFO_HASH, announce, length: 1000 })

test('bt-stream peers lists what the trackers return, one ip:port a line, IPv6 bracketed', async () => {
  const v4 = await startRealTracker('127.0.0.1')
  const v6 = await startRealTracker('::1')
  try {
    await new HttpTracker(v4.httpUrl).announce(request({ infoHash: INFO_HASH, port: 10001 }), NEVER)
    await new HttpTracker(v6.httpUrl).announce(request({ infoHash: INFO_HASH, port: 10002 }), NEVER)
    const c = capture()
    const code = await listPeers(meta([[v4.httpUrl], [v6.httpUrl], ['wss://webtorrent.example']]), { timeoutMs: 5000, port: 10009, json: false }, c.io)
    assert.equal(code, 0)
    const lines = c.out().trim().split('\n').sort()
    // The tracker also lists us (port 10009): the listing is what the trackers said.
    assert.deepEqual(lines, ['127.0.0.1:10001', '127.0.0.1:10009', '[::1]:10002', '[::1]:10009'])
    assert.match(c.err(), /wss:\/\/webtorrent\.example: unsupported scheme wss: \(WebTorrent tracker\), skipped/)
  } finally {
    await v4.close()
    await v6.close()
  }
})

test('bt-stream peers --json prints one document with peers, answering and failed trackers', async () => {
  const t = await startRealTracker('127.0.0.1')
  const refusing = await hostileHttp((_q, res) => res.end(bencode.encode({ 'failure reason': 'not here' })))
  try {
    await new HttpTracker(t.httpUrl).announce(request({ infoHash: INFO_HASH, port: 10001 }), NEVER)
    const c = capture()
    assert.equal(await listPeers(meta([[t.httpUrl], [refusing.url]]), { timeoutMs: 5000, port: 10001, json: true }, c.io), 0)
    const doc = JSON.parse(c.out()) as { peers: unknown[], answered: string[], failed: { url: string, error: string }[] }
    assert.deepEqual(doc.peers, [{ host: '127.0.0.1', port: 10001 }])
    assert.deepEqual(doc.answered, [t.httpUrl])
    assert.deepEqual(doc.failed, [{ url: refusing.url, error: `${refusing.url}: failure reason: not here` }])
  } finally {
    await t.close()
    await refusing.close()
  }
})

test('bt-stream peers: when every tracker fails, one error names each and why', async () => {
  const silentUdp = await hostileUdp(() => undefined)
  const refusing = await hostileHttp((_q, res) => res.end(bencode.encode({ 'failure reason': 'unregistered torrent' })))
  try {
    const c = capture()
    await assert.rejects(listPeers(meta([[silentUdp.url], [refusing.url]]), { timeoutMs: 1000, port: 6881, json: false }, c.io), (err: unknown) => {
      assert.ok(err instanceof TrackerError)
      assert.match(err.message, /^all trackers failed: /)
      // The UDP tracker either ran out of retries or was still being asked at the deadline.
      assert.match(err.message, new RegExp(`${silentUdp.url}: (timed out after 2 attempts|no answer within 1 s)`))
      assert.ok(err.message.includes(`${refusing.url}: failure reason: unregistered torrent`), err.message)
      return true
    })
    assert.equal(c.out(), '')
  } finally {
    await silentUdp.close()
    await refusing.close()
  }
})

test('bt-stream peers: usage errors and --help', async () => {
  const c = capture()
  assert.equal(await command(['--help'], c.io), 0)
  assert.match(c.out(), /usage: bt-stream peers/)
  await assert.rejects(command([], c.io), UsageError)
  await assert.rejects(command(['a.torrent', '--timeout', '0'], c.io), /--timeout must be between 1 and 3600/)
  await assert.rejects(command(['a.torrent', 'b.torrent'], c.io), UsageError)
  const m = capture()
  assert.equal(await main(['peers', '/nonexistent/x.torrent'], m.io), 1)
  assert.match(m.err(), /^bt-stream: .+\n$/)
})

test('bt-stream peers: a torrent without trackers is an error, not a hang', async () => {
  await assert.rejects(listPeers(meta([]), { timeoutMs: 1000, port: 6881, json: false }, capture().io), /lists no trackers/)
})

test('bt-stream peers: ^C (the io signal) ends the wait at once', async () => {
  const silentUdp = await hostileUdp(() => undefined)
  try {
    const ac = new AbortController()
    const c = capture()
    const io = { ...c.io, signal: ac.signal }
    const run = listPeers(meta([[silentUdp.url]]), { timeoutMs: 60_000, port: 6881, json: false }, io)
    setTimeout(() => ac.abort(), 50)
    // Resolving at all (well before the 60 s timeout, which node:test would report) is the point.
    assert.equal(await run, 0)
    assert.equal(c.out(), '')
  } finally {
    await silentUdp.close()
  }
})

test('bt-stream peers leaves no peer on the tracker (BEP 3 `stopped`), even when the tracker answered after our deadline', async () => {
  const real = await startRealTracker('127.0.0.1')
  const infoHashHex = Buffer.from(INFO_HASH).toString('hex')
  const listed = (): number => (real.server.torrents[infoHashHex] as { peers: { length: number } } | undefined)?.peers.length ?? 0
  // Forwards every announce to the real tracker at once (it registers us), but holds the answer
  // to `started` past the command's deadline: the tracker has us, and we never heard it say so.
  const held: Array<() => void> = []
  const slow = await hostileHttp((req, res, base) => {
    const query = (req.url ?? '').split('?')[1] ?? ''
    void base
    fetch(`${real.httpUrl}?${query}`).then(async r => Buffer.from(await r.arrayBuffer())).then(body => {
      if (/event=started/.test(query)) held.push(() => res.end(body))
      else res.end(body)
    }, () => res.destroy())
  })
  try {
    const c = capture()
    await assert.rejects(listPeers(meta([[slow.url]]), { timeoutMs: 1000, port: 6881, json: false }, c.io), /timed out after 900 ms|no answer within 1 s/)
    assert.equal(listed(), 0, 'the tracker still lists the peer the command announced')
    // The ordinary case too: the tracker answered, and `stopped` removed us.
    const quick = capture()
    assert.equal(await listPeers(meta([[real.httpUrl]]), { timeoutMs: 5000, port: 6881, json: false }, quick.io), 0)
    assert.equal(listed(), 0)
  } finally {
    for (const h of held) h()
    await slow.close()
    await real.close()
  }
})

test('bt-stream peers announces a port no local client uses: a client listed at 6881 keeps its entry on the tracker', async () => {
  const { makeTorrent } = await import('../swarm/fixture-torrent.js')
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const real = await startRealTracker('127.0.0.1')
  const made = makeTorrent({ length: 1000, pieceLength: 16384, announce: real.httpUrl })
  const dir = mkdtempSync(join(tmpdir(), 'bt-peers-'))
  try {
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    // A local client at the customary port: trackers key peers by address and port.
    await new HttpTracker(real.httpUrl).announce(request({ infoHash: made.meta.infoHash, peerId: bytes20(7), port: 6881 }), NEVER)
    const c = capture()
    assert.equal(await command([join(dir, 'x.torrent'), '--timeout', '5'], c.io), 0)
    assert.match(c.out(), /^127\.0\.0\.1:6881$/m, 'the local client is listed')
    const swarm = real.server.torrents[made.meta.infoHashHex] as { peers: { keys: string[] } }
    assert.deepEqual(swarm.peers.keys, ['127.0.0.1:6881'], 'its entry is still there, and ours is gone')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await real.close()
  }
})
