/**
 * The README's library examples, run as they stand: the package is packed (`npm pack`), the
 * tarball unpacked where `import 'bt-stream'` finds it (and only it: no path into this repo), and
 * each `// example:` block runs as an ES module against a loopback swarm (a real tracker and our
 * seeder). An example that drifts from the exports or the API fails here.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder } from '../../lib/seed/seeder.js'
import { Announcer } from '../../lib/tracker/announcer.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { MemoryReader } from '../seed/helpers.js'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startRealTracker } from '../tracker/helpers.js'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const EXAMPLE_TIMEOUT_MS = 60_000

/** Every ```js block of the README that starts with `// example: <title>`. */
export function readmeExamples (readme: string): Array<{ title: string, code: string }> {
  const out: Array<{ title: string, code: string }> = []
  for (const m of readme.matchAll(/```js\n(\/\/ example: ([^\n]+)\n[\s\S]*?)```/g)) out.push({ title: m[2] as string, code: m[1] as string })
  return out
}

function run (dir: string, file: string, args: string[]): Promise<{ code: number, stderr: string, stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: dir, timeout: EXAMPLE_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

test('the README\'s library examples run against the packed package', async (t) => {
  const examples = readmeExamples(readFileSync(join(REPO, 'README.md'), 'utf8'))
  assert.deepEqual(examples.map(e => e.title), [
    'a torrent to a file, through stream.pipeline',
    'a magnet to disk (resumable), then seed it',
    'what a torrent holds'
  ])
  // Inside node_modules so the packed package finds its own dependencies the way an install would.
  const root = join(REPO, 'node_modules', `.readme-examples-${process.pid}`)
  rmSync(root, { recursive: true, force: true })
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const pkgDir = join(root, 'node_modules', 'bt-stream')
  const runDir = join(root, 'run')
  mkdirSync(pkgDir, { recursive: true })
  mkdirSync(runDir, { recursive: true })
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: REPO, encoding: 'utf8', timeout: 60_000 })) as Array<{ filename: string }>
  execFileSync('tar', ['xzf', join(root, (packed[0] as { filename: string }).filename), '-C', pkgDir, '--strip-components=1'], { timeout: 30_000 })

  const tracker = await startRealTracker('127.0.0.1')
  t.after(() => tracker.close())
  const made = makeTorrent({ length: 300 * 1024 + 7, pieceLength: 32 * 1024, name: 'example.bin', announce: tracker.httpUrl })
  writeFileSync(join(runDir, 'x.torrent'), made.torrent)
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const announcer = new Announcer({ infoHash: made.meta.infoHash, peerId: listener.peerId, port, tiers: [[tracker.httpUrl]], getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }) })
  const seeder = new Seeder({ meta: made.meta, reader: new MemoryReader(made.data, made.meta.pieceLength), have: BitField.full(made.meta.pieceCount), listener, announcer, infoBytes: made.meta.infoBytes, dial: false })
  seeder.start()
  t.after(async () => { await seeder.close(); await listener.close() })

  const magnet = `magnet:?xt=urn:btih:${made.meta.infoHashHex}&tr=${encodeURIComponent(tracker.httpUrl)}`
  const args: Record<string, string[]> = { 'a magnet to disk (resumable), then seed it': [magnet] }
  for (const [i, ex] of examples.entries()) {
    const file = join(runDir, `example-${i}.mjs`)
    writeFileSync(file, ex.code)
    const r = await run(runDir, file, args[ex.title] ?? [])
    assert.equal(r.code, 0, `${ex.title}: exit ${r.code}\n${r.stderr}`)
  }
  assert.ok(readFileSync(join(runDir, 'out')).equals(made.data), 'the pipeline example wrote the file')
  assert.ok(readFileSync(join(runDir, 'downloads')).equals(made.data), 'the magnet example wrote the file (a single-file torrent: downloads is the file)')
})
