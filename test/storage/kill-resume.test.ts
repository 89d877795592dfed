import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { fileURLToPath } from 'node:url'
import { prng } from '../helpers.js'
import { listTree, makeTorrent, tempDir, type FileSpec, type Fixture } from './helpers.js'

const CHILD = fileURLToPath(new URL('./kill-child.js', import.meta.url))
const PL = 16 * 1024
/** Generous: a child writes a few MiB; this only stops a hung child from hanging the suite. */
const CHILD_TIMEOUT_MS = 20000

/**
 * ~60 files from empty to 600 KiB (about 18 MiB, 1100 pieces: long enough for kills to land
 * mid-download), some BEP 47 padding: pieces cross file ends everywhere.
 */
function bigAlbum (): Fixture {
  const rand = prng(42)
  const files: FileSpec[] = []
  for (let i = 0; i < 60; i++) {
    files.push({ path: [`d${i % 4}`, `f${i}.bin`], length: i % 9 === 0 ? 0 : Math.floor(rand() * 600000) })
    if (i % 13 === 5) files.push({ path: ['.pad', String(i)], length: 1 + Math.floor(rand() * 5000), padding: true })
  }
  return makeTorrent('album', files, PL, 42)
}

interface ChildRun { readonly lines: string[], readonly killed: boolean, readonly code: number | null, readonly stderr: string }

/**
 * Runs the child; SIGKILLs it once it has reported `killAfter(missing)` written pieces (`missing`
 * from its start line), or `killAfterMs` after spawning (which lands in the start-up phases: the
 * resume check, the renames of files found complete).
 */
async function runChild (args: string[], killAfter?: (missing: number) => number, killAfterMs?: number): Promise<ChildRun> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    let killed = false
    let buffered = ''
    let stderr = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('kill-child timed out')) }, CHILD_TIMEOUT_MS)
    const killTimer = killAfterMs === undefined ? undefined : setTimeout(() => { killed = true; child.kill('SIGKILL') }, killAfterMs)
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      lines.push(...parts)
      const start = lines[0]?.startsWith('start ') === true ? Number(lines[0].slice(6)) : undefined
      if (!killed && killAfter !== undefined && start !== undefined && lines.length - 1 >= killAfter(start)) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    child.on('close', code => { clearTimeout(timer); clearTimeout(killTimer); resolve({ lines, killed, code, stderr }) })
  })
}

/** The promise users rely on: whatever is under its final name is the complete, exact file. */
function assertFinalNamesComplete (fx: Fixture, out: string): void {
  for (const p of listTree(out)) {
    if (p.endsWith('.part') || p.startsWith('.bt-stream-')) continue
    assert.deepEqual(new Uint8Array(readFileSync(join(out, p))), fx.contents.get(p), `${p} is under its final name, so it must be complete`)
  }
}

async function killAndResume (selection: number[] | undefined, seed: number): Promise<void> {
  const fx = bigAlbum()
  const { dir, cleanup } = tempDir('kill')
  try {
    const torrent = join(dir, 'x.torrent')
    const payload = join(dir, 'payload.bin')
    const out = join(dir, 'out')
    writeFileSync(torrent, fx.torrent)
    writeFileSync(payload, fx.payload)
    const args = [torrent, payload, out]
    const sel = selection === undefined ? [] : [selection.join(',')]
    const rand = prng(seed)
    let resumedPieces = 0
    for (let round = 0; round < 9; round++) {
      // Two of three rounds die somewhere in the first half of what is left to write.
      const byTime = round % 3 === 2
      const k = rand()
      const run = await runChild([...args, String(seed + round), ...sel], byTime ? undefined : missing => 1 + Math.floor(k * missing / 2), byTime ? Math.floor(rand() * 150) : undefined)
      assert.ok(run.killed || run.lines.at(-1)?.startsWith('done') === true, `round ${round}: ${run.stderr}`)
      assertFinalNamesComplete(fx, out)
    }
    const last = await runChild([...args, String(seed + 99), ...sel])
    assert.equal(last.code, 0, last.stderr)
    const done = last.lines.at(-1) ?? ''
    resumedPieces = Number(done.split(' ')[1])
    assert.ok(resumedPieces > 0, 'the rerun found verified pieces on disk and did not fetch them again')

    const wantedFiles = fx.meta.files.flatMap((f, i) => !f.padding && (selection === undefined || selection.includes(i)) ? [f.path] : [])
    const tree = listTree(out).filter(p => !p.startsWith('.bt-stream-'))
    assert.deepEqual(tree, [...wantedFiles].sort(), 'exactly the selected files, no .part left')
    for (const p of wantedFiles) assert.deepEqual(new Uint8Array(readFileSync(join(out, p))), fx.contents.get(p), p)
  } finally { cleanup() }
}

test('SIGKILL at seeded random points, then rerun: every file ends exact, none is ever partial under its final name', async () => {
  await killAndResume(undefined, 1000)
})

test('SIGKILL and rerun with a --file selection: boundary pieces resume through the side file', async () => {
  await killAndResume([3, 4, 5, 20, 21, 40], 2000)
})
