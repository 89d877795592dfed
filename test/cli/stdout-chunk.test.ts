/**
 * The chunk size the CLI writes to stdout (lib/cli/stdout-chunk.ts), decided in a real child
 * process so stdout is what a user's shell gives it: a pipe, or a file it was redirected to.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { FILE_CHUNK, stdoutChunkBytes } from '../../lib/cli/stdout-chunk.js'
import { STDOUT_CHUNK } from '../../lib/output/chunker.js'

const MODULE = new URL('../../lib/cli/stdout-chunk.js', import.meta.url).href
const SCRIPT = `const { stdoutChunkBytes } = await import(${JSON.stringify(MODULE)}); process.stdout.write(String(stdoutChunkBytes(process.stdout)))`

test('stdout a pipe: 64 KiB chunks, what a pipe takes best', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(Number(out), STDOUT_CHUNK)
})

test('stdout redirected to a file: pieces whole, up to 1 MiB a chunk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-chunk-'))
  try {
    const path = join(dir, 'out')
    const fd = openSync(path, 'w')
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { stdio: ['ignore', fd, 'pipe'], timeout: 30_000 })
    } finally {
      closeSync(fd)
    }
    assert.equal(Number(readFileSync(path, 'utf8')), FILE_CHUNK)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a stream without a descriptor (one a test or a library host made): 64 KiB', () => {
  assert.equal(stdoutChunkBytes(new PassThrough()), STDOUT_CHUNK)
})
