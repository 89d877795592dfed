/**
 * The process binding (lib/cli/process.ts): a command that never settles while nothing is left to
 * wait for is a bug, and must not look like success to a script (`bt-stream m > f && use f`).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'

const PROCESS_JS = new URL('../../lib/cli/process.js', import.meta.url).href

function runEntry (entry: string): Promise<{ code: number | null, stderr: string }> {
  return new Promise((resolve, reject) => {
    const src = `import { run } from ${JSON.stringify(PROCESS_JS)}; run(${entry})`
    const child = spawn(process.execPath, ['--input-type=module', '-e', src], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('child did not exit')) }, 30_000)
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('close', code => { clearTimeout(timer); resolve({ code, stderr }) })
  })
}

test('a command whose promise never settles, with nothing left to wait for, exits 1 and says so (not 0)', async () => {
  const r = await runEntry('() => new Promise(() => {})')
  assert.equal(r.code, 1)
  assert.equal(r.stderr, 'bt-stream: internal error: the command stopped with nothing left to wait for and no result\n')
})

test('a command that settles keeps its exit code and says nothing more', async () => {
  assert.deepEqual(await runEntry('async () => 0'), { code: 0, stderr: '' })
  assert.deepEqual(await runEntry('async () => 2'), { code: 2, stderr: '' })
})
