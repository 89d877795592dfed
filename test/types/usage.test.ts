/**
 * The public types as a strict user meets them: test/types/usage/*.ts import 'bt-stream' (resolved
 * through package.json `exports` to the built dist/lib/index.d.ts) and compile with `strict`,
 * `noImplicitAny` and `skipLibCheck: false`. Their `// @ts-expect-error` lines are misuse that must
 * not compile, so an `any` leaking out of our types fails here (the directive goes unused). And
 * our declaration files may import only Node's modules and our runtime dependencies: a type from a
 * devDependency (readable-stream's, which through2 uses) is TS7016 for a user who does not have it,
 * and an `any` for one with skipLibCheck. This repository has every devDependency installed, so
 * the compile alone cannot see that: the imports of dist/lib/**\/*.d.ts are checked by name.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
/** One tsc run over a few small files: seconds even on a loaded machine. */
const TSC_TIMEOUT_MS = 60_000

/** Every module a declaration file imports by a bare name (`from 'x'`, `import('x')`, `/// <reference types>`). */
function bareImports (dts: string): string[] {
  const out: string[] = []
  for (const m of dts.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]|<reference\s+types\s*=\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1] ?? m[2] ?? ''
    if (!spec.startsWith('.')) out.push(spec)
  }
  return out
}

/** The package a bare specifier names: `a/b` is `a`, `@s/a/b` is `@s/a`. */
function packageName (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? `${parts[0] ?? ''}/${parts[1] ?? ''}` : parts[0] ?? ''
}

test('the public types compile for a strict user (skipLibCheck: false), reject misuse, and need only runtime dependencies', async () => {
  const tsc = join(createRequire(import.meta.url).resolve('typescript/package.json'), '..', 'bin', 'tsc')
  const r = await new Promise<{ code: number, out: string }>(resolve => {
    execFile(process.execPath, [tsc, '--noEmit', '--listFiles', '-p', join('test', 'types', 'usage', 'tsconfig.json')], { cwd: REPO, timeout: TSC_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
    })
  })
  const errors = r.out.split('\n').filter(line => /error TS\d+/.test(line))
  assert.deepEqual(errors, [], 'test/types/usage compiles, and every @ts-expect-error line is an error')
  assert.equal(r.code, 0, r.out)

  assert.ok(r.out.split('\n').some(f => f.endsWith(join('dist', 'lib', 'index.d.ts'))), `'bt-stream' resolved to dist/lib/index.d.ts:\n${r.out}`)

  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  const runtime = new Set(Object.keys(pkg.dependencies ?? {}))
  const dist = join(REPO, 'dist', 'lib')
  const foreign: string[] = []
  for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.d.ts')) continue
    for (const spec of bareImports(readFileSync(join(dist, file), 'utf8'))) {
      // Node's own modules come with @types/node, which every user of a Node library has.
      if (!spec.startsWith('node:') && !runtime.has(packageName(spec))) foreign.push(`${file}: ${spec}`)
    }
  }
  assert.deepEqual(foreign, [], 'our declaration files import only node:* and runtime dependencies')
})
