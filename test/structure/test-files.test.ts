import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * `npm test` runs the files named *.test.ts (compiled to dist/test/**\/*.test.js) and nothing
 * else, so the runner's count is of tests: helper modules and child-process scripts are not
 * "test files" with nothing in them. That holds only if the names are right: a file of tests
 * under another name would never run, and a *.test.ts with no test in it would count as one.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const TESTS = join(ROOT, 'test')
/** A call of node:test's test() (or a suite) opening a line: how every test here begins. */
const DECLARES_TEST = /^\s*(test|describe|suite)(\.(skip|todo|only))?\(/m

function tsFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return tsFiles(path)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : []
  })
}

test('every file that declares tests is named *.test.ts, so npm test runs it', () => {
  const misnamed = tsFiles(TESTS)
    .filter(f => !f.endsWith('.test.ts') && DECLARES_TEST.test(readFileSync(f, 'utf8')))
    .map(f => relative(ROOT, f))
  assert.deepEqual(misnamed, [], 'these declare tests but are not named *.test.ts')
})

/** A relative import's source file (`./x.js` is compiled from `./x.ts`). */
const RELATIVE_IMPORT = /^import .* from '(\.{1,2}\/[^']+)\.js'/gm

/** It calls test() itself, or imports a module that does (test/interop/* declare theirs through interop/node-test.ts). */
function declaresTests (file: string): boolean {
  const text = readFileSync(file, 'utf8')
  if (DECLARES_TEST.test(text)) return true
  return [...text.matchAll(RELATIVE_IMPORT)].some(m => {
    const dep = join(dirname(file), `${m[1] ?? ''}.ts`)
    return existsSync(dep) && /from 'node:test'/.test(readFileSync(dep, 'utf8'))
  })
}

test('every *.test.ts declares a test, so the runner counts no helper as a test', () => {
  const empty = tsFiles(TESTS)
    .filter(f => f.endsWith('.test.ts') && !declaresTests(f))
    .map(f => relative(ROOT, f))
  assert.deepEqual(empty, [], 'these are named *.test.ts but declare no test')
})
