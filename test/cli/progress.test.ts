/**
 * What long-running commands say while they work (issue 11): one truthful progress line (upload,
 * ratio, peers), tracker failures shown where the user looks, and `--json` lines for scripts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import bencode from 'bencode'
import { main } from '../../lib/cli/main.js'
import { Reporter } from '../../lib/cli/reporter.js'
import { download } from '../../lib/session/download.js'
import { TrackerError } from '../../lib/util/errors.js'
import { fakeIO, tempDir } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { makeTorrent, seededBytes } from '../swarm/fixture-torrent.js'
import { hostileHttp, startRealTracker } from '../tracker/helpers.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname
/** A DHT bootstrap node nobody runs: the DHT is on (as it is by default) and finds nothing, on loopback. */
const DEAD_DHT = ['--dht-bootstrap', '127.0.0.1:9']

async function refusingTracker (): Promise<Awaited<ReturnType<typeof hostileHttp>>> {
  return await hostileHttp((_q, res) => res.end(bencode.encode({ 'failure reason': 'torrent not authorized' })))
}

test('-o PATH --seed --progress: after the download one line only, the seeding one, with the peer that downloads from us', async () => {
  const data = seededBytes(4 * 1024 * 1024, 81)
  const t = makeTorrent({ length: data.length, pieceLength: 64 * 1024, data })
  const origin = await startFakeSeeder(t.meta, data, { kind: 'honest' })
  const { dir, remove } = tempDir('bt-progress-')
  writeFileSync(join(dir, 'x.torrent'), t.torrent)
  const child = spawn(process.execPath, [BIN, join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--seed', '--no-trackers', '--no-dht',
    '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--progress'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const waitFor = async (re: RegExp, what: string): Promise<RegExpExecArray> => await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { clearInterval(poll); reject(new Error(`no ${what}: ${stderr}`)) }, 30_000)
    const poll = setInterval(() => {
      const m = re.exec(stderr)
      if (m !== null) { clearTimeout(timer); clearInterval(poll); resolve(m) }
    }, 50)
  })
  const leecher = { stream: undefined as ReturnType<typeof download> | undefined }
  try {
    const port = Number((await waitFor(/seeding "test\.bin" \(64\/64 pieces\) on port (\d+)/, 'seeding line'))[1])
    await origin.close()
    // A leecher that does not read: it fills its window from us and stays connected.
    leecher.stream = download(t.meta, { peers: [{ host: '127.0.0.1', port }], trackers: false, windowBytes: 1024 * 1024 })
    leecher.stream.on('error', () => {})
    await waitFor(/^seeding {2}up [1-9].*ratio \d+\.\d\d {2}1 peer$/m, 'seeding line with the leecher')
    const after = stderr.slice(stderr.indexOf('seeding "test.bin"'))
    assert.doesNotMatch(after, /\(\d+%\)/, 'no download line is drawn once the download is done')
    assert.doesNotMatch(after, /^seeding .* 0 peers$/m, 'the leecher was counted from its first line on')
    const closed = new Promise<number | null>(resolve => child.once('close', resolve))
    child.kill('SIGINT')
    assert.equal(await closed, 130)
  } finally {
    leecher.stream?.destroy()
    child.kill('SIGKILL')
    await origin.close()
    remove()
  }
})

test('a tracker that refuses us: said once on stderr and kept in the progress line', async () => {
  const tracker = await refusingTracker()
  const { dir, remove } = tempDir('bt-progress-')
  try {
    const made = makeTorrent({ length: 100_000, pieceLength: 16384, announce: tracker.url })
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const io = fakeIO()
    const code = await main([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), ...DEAD_DHT, '--stall-timeout', '5', '--progress'], io)
    assert.equal(code, 1)
    const words = `the tracker ${tracker.url} refused: torrent not authorized`
    const err = io.err()
    assert.equal(err.split(`bt-stream: ${words}\n`).length, 2, `said exactly once: ${err}`)
    assert.match(err, new RegExp(`0 peers {2}ETA --:-- {2}\\[${words.replace(/[.?*+/()[\]]/g, '\\$&')}\\]`))
    assert.match(err, /^bt-stream: no peers found within 5 s/m)
  } finally {
    remove()
    await tracker.close()
  }
})

test('the stall message names the tracker that refused us', async () => {
  const tracker = await refusingTracker()
  const { dir, remove } = tempDir('bt-progress-')
  try {
    const made = makeTorrent({ length: 100_000, pieceLength: 16384, announce: tracker.url })
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const io = fakeIO()
    assert.equal(await main([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), ...DEAD_DHT, '--stall-timeout', '2', '--quiet'], io), 1)
    assert.equal(io.err(), `bt-stream: no peers found within 2 s; the tracker ${tracker.url} refused: torrent not authorized\n`)
  } finally {
    remove()
    await tracker.close()
  }
})

test('bt-stream seed: an announce that fails is said on stderr, once per reason', async () => {
  const tracker = await refusingTracker()
  const { dir, remove } = tempDir('bt-progress-')
  const data = seededBytes(100_000, 5)
  const made = makeTorrent({ length: data.length, pieceLength: 16384, announce: tracker.url, data })
  writeFileSync(join(dir, 'x.torrent'), made.torrent)
  writeFileSync(join(dir, 'x.bin'), data)
  const child = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--host', '127.0.0.1', '--no-dht'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tracker line: ${stderr}`)), 20_000)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        if (stderr.includes('refused')) { clearTimeout(timer); resolve() }
      })
      child.once('close', () => reject(new Error(`seed exited: ${stderr}`)))
    })
    assert.match(stderr, new RegExp(`^bt-stream: the tracker ${tracker.url.replace(/[.?/]/g, '\\$&')} refused: torrent not authorized$`, 'm'))
  } finally {
    child.kill('SIGKILL')
    remove()
    await tracker.close()
  }
})

test('Reporter: a tracker failure is printed once per distinct reason, and leaves the line when the tracker answers', () => {
  const io = fakeIO()
  const r = new Reporter(io, 'line', false)
  const fail = (reason: string): void => { r.trackerError({ url: 'http://t/a', error: new TrackerError(`http://t/a: failure reason: ${reason}`) }) }
  fail('not authorized')
  fail('not authorized')
  fail('rate limited')
  r.progress({ delivered: 0, total: 10, rate: 0, peers: 0, downloaded: 0 })
  r.announce({ url: 'http://t/a', event: undefined, peers: 1, newPeers: 1, interval: 1800 })
  r.progress({ delivered: 5, total: 10, rate: 1, peers: 1, downloaded: 5, uploaded: 10 })
  const lines = io.err().split('\n')
  assert.deepEqual(lines.slice(0, 3), [
    'bt-stream: the tracker http://t/a refused: not authorized',
    'bt-stream: the tracker http://t/a refused: rate limited',
    '0 B / 10 B (0%)  0 B/s  0 peers  ETA --:--  [the tracker http://t/a refused: rate limited]'
  ])
  // Upload, ratio (uploaded over downloaded) and peers; the tracker answered, so no note.
  assert.match(lines[3] as string, /^5 B \/ 10 B \(50%\) {2}1 B\/s {2}up 10 B \(\d+ B\/s\) {2}ratio 2\.00 {2}1 peer {2}ETA 0:05$/)
  assert.equal(lines.length, 5)
})

test('--json: stderr is one JSON object a line (progress, tracker events, a summary last), for stdout and -o downloads', async () => {
  const tracker = await startRealTracker('127.0.0.1')
  const refusing = await refusingTracker()
  const data = seededBytes(512 * 1024, 9)
  const made = makeTorrent({ length: data.length, pieceLength: 32768, data })
  const origin = await startFakeSeeder(made.meta, data, { kind: 'honest' })
  const { dir, remove } = tempDir('bt-progress-')
  try {
    writeFileSync(join(dir, 'x.torrent'), made.torrent)
    const lines = (io: ReturnType<typeof fakeIO>): Array<Record<string, unknown>> => io.err().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    // -o: the download ends well; the summary says what it did.
    const disk = fakeIO()
    assert.equal(await main([join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--no-trackers', '--no-dht', '--peer', `127.0.0.1:${origin.port}`, '--json'], disk), 0)
    const d = lines(disk)
    const last = d.at(-1) as Record<string, unknown>
    assert.equal(last.event, 'summary')
    assert.equal(last.ok, true)
    assert.equal(last.downloaded, data.length)
    assert.equal(last.uploaded, 0)
    // The last line counts the peer the data came from, though the swarm closed it at the end.
    assert.ok(d.some(o => o.event === 'progress' && o.bytes === data.length && o.peers === 1), JSON.stringify(d))
    // stdout: a tracker that refuses us, then the stall; the error is in the summary, nothing else on stderr.
    const bad = makeTorrent({ length: 100_000, pieceLength: 16384, announce: refusing.url })
    writeFileSync(join(dir, 'bad.torrent'), bad.torrent)
    const out = fakeIO()
    assert.equal(await main([join(dir, 'bad.torrent'), ...DEAD_DHT, '--stall-timeout', '2', '--json'], out), 1)
    const o = lines(out)
    assert.ok(o.some(e => e.event === 'tracker-error' && e.url === refusing.url && e.error === `${refusing.url}: failure reason: torrent not authorized`), JSON.stringify(o))
    assert.ok(o.some(e => e.event === 'progress' && e.peers === 0 && e.uploaded === undefined), 'stdout downloads never upload: no upload fields')
    const end = o.at(-1) as Record<string, unknown>
    assert.equal(end.event, 'summary')
    assert.equal(end.ok, false)
    assert.match(String(end.error), /^no peers found within 2 s/)
  } finally {
    await origin.close()
    await tracker.close()
    await refusing.close()
    remove()
  }
})

test('bt-stream seed --json: where it listens, its tracker failures, and a summary after Ctrl-C, all JSON lines', async () => {
  const tracker = await refusingTracker()
  const { dir, remove } = tempDir('bt-progress-')
  const data = seededBytes(100_000, 6)
  const made = makeTorrent({ length: data.length, pieceLength: 16384, announce: tracker.url, data })
  writeFileSync(join(dir, 'x.torrent'), made.torrent)
  writeFileSync(join(dir, 'x.bin'), data)
  const child = spawn(process.execPath, [BIN, 'seed', join(dir, 'x.torrent'), join(dir, 'x.bin'), '--host', '127.0.0.1', '--no-dht', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    const closed = new Promise<number | null>(resolve => child.once('close', resolve))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no tracker-error line: ${stderr}`)), 20_000)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        if (stderr.includes('"tracker-error"')) { clearTimeout(timer); resolve() }
      })
    })
    child.kill('SIGINT')
    assert.equal(await closed, 130)
    const events = stderr.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    assert.equal(events[0]?.event, 'check', 'the resume check first')
    const listening = events.find(e => e.event === 'listening')
    assert.ok(typeof listening?.port === 'number' && listening.pieces === 7, JSON.stringify(events))
    assert.ok(events.some(e => e.event === 'tracker-error' && e.error === `${tracker.url}: failure reason: torrent not authorized`))
    assert.deepEqual({ ...events.at(-1), time: undefined, seconds: undefined }, { event: 'summary', ok: true, output: join(dir, 'x.bin'), downloaded: 0, uploaded: 0, time: undefined, seconds: undefined })
  } finally {
    child.kill('SIGKILL')
    remove()
    await tracker.close()
  }
})

test('-o PATH --seed: seeding goes on at the port the download accepted peers on, so the peers it served still find us', async () => {
  const data = seededBytes(512 * 1024, 82)
  const t = makeTorrent({ length: data.length, pieceLength: 32 * 1024, data })
  const origin = await startFakeSeeder(t.meta, data, { kind: 'honest' })
  const { dir, remove } = tempDir('bt-progress-')
  writeFileSync(join(dir, 'x.torrent'), t.torrent)
  const child = spawn(process.execPath, [BIN, join(dir, 'x.torrent'), '-o', join(dir, 'out.bin'), '--seed', '--no-trackers', '--no-dht',
    '--peer', `127.0.0.1:${origin.port}`, '--host', '127.0.0.1', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    let stderr = ''
    const closed = new Promise<number | null>(resolve => child.once('close', resolve))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no seeding: ${stderr}`)), 30_000)
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        if ((stderr.match(/"event":"listening"/g) ?? []).length === 2) { clearTimeout(timer); resolve() }
      })
    })
    child.kill('SIGINT')
    assert.equal(await closed, 130)
    const ports = stderr.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>).filter(e => e.event === 'listening').map(e => e.port)
    assert.equal(ports.length, 2)
    assert.equal(ports[1], ports[0], 'the seeding listener took over the download\'s port')
  } finally {
    child.kill('SIGKILL')
    await origin.close()
    remove()
  }
})
