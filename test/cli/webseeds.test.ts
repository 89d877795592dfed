/**
 * BEP 19 from the command line: a torrent whose only source is its url-list downloads with no
 * tracker and no peer; `--no-webseeds` turns the web seed off (and then nothing can be found).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import bencode from 'bencode'
import { makeTorrent } from '../swarm/fixture-torrent.js'
import { startRangeServer } from '../webseed/range-server.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname

function run (args: string[]): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout: Buffer.concat(out), stderr }) })
  })
}

test('bt-stream x.torrent with only a url-list (BEP 19): byte-identical to stdout; --no-webseeds: exit 1, nothing to ask', async (t) => {
  const made = makeTorrent({ length: 700 * 1024 + 3, pieceLength: 32 * 1024, name: 'web.bin' })
  const server = await startRangeServer(new Map([['/web.bin', made.data]]))
  t.after(() => server.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-cli-ws-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const dict = bencode.decode(made.torrent) as Record<string, unknown>
  dict['url-list'] = Buffer.from(server.base + 'web.bin')
  const torrent = join(dir, 'web.torrent')
  writeFileSync(torrent, bencode.encode(dict))
  const ok = await run([torrent, '--no-dht', '--quiet'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.ok(ok.stdout.equals(made.data))
  const off = await run([torrent, '--no-webseeds', '--no-dht', '--quiet'])
  assert.equal(off.code, 1)
  assert.equal(off.stdout.length, 0)
  assert.match(off.stderr, /no tracker|no peer/)
})
