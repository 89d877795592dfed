import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { isBuiltin } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The invariant "no decode of network bytes is unbounded", enforced by the shape of the source
 * rather than by reviewing each call site: the `bencode` package loops for ever on a negative
 * string length (`l-3:e`), so only lib/bencode/decode.ts, which runs scanBencode first, may call
 * its decode. Everyone else imports decodeBencode from there, or uses `bencode.encode` only.
 * Packages that decode bencode inside them (bittorrent-dht -> k-rpc-socket -> bencode 2.0.3) may
 * be imported only where their input is screened, as listed in SCREENED below.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const LIB = join(ROOT, 'lib')
/** The one file allowed to call the bencode package's decode. */
const DECODER = 'lib/bencode/decode.ts'
/** What the bencode package offers besides decode; all safe on any input we build ourselves. */
const SAFE_MEMBERS = new Set(['encode', 'encodingLength', 'byteLength'])
/**
 * Packages whose dependencies decode bencode, with the one file that may import each and a
 * pattern that file must contain: the proof that the package reads screened bytes only.
 */
const SCREENED: Record<string, { file: string, proof: RegExp, why: string }> = {
  'bittorrent-dht': {
    file: 'lib/dht/dht-node.ts',
    proof: /new DHT\(\{[^}]*\bsocket\b/,
    why: 'k-rpc-socket reads the socket we pass (ScreenedUdpSocket), never one of its own'
  }
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return /\.(ts|js|mjs|cjs)$/.test(e.name) ? [p] : []
  })
}

/** The code without comments, so prose about "the bencode package" is not mistaken for a use. */
function stripComments (src: string): string {
  const keepLines = (m: string): string => m.replace(/[^\n]/g, '')
  return src.replace(/\/\*[\s\S]*?\*\//g, keepLines).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

interface Import { readonly specifier: string, readonly clause: string | undefined }

/** Static imports and re-exports (with their clause), dynamic import() and require(). */
function importsOf (code: string): Import[] {
  const out: Import[] = []
  for (const m of code.matchAll(/\b(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) {
    if (m[1] === undefined) out.push({ specifier: m[3] as string, clause: m[2] as string })
  }
  for (const m of code.matchAll(/\bimport\s+['"]([^'"]+)['"]/g)) out.push({ specifier: m[1] as string, clause: '' })
  for (const m of code.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ specifier: m[1] as string, clause: undefined })
  return out
}

function packageName (specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Problems with how one file uses the bencode package (empty: only encode, or not at all). */
function bencodeDecodeUses (rel: string, code: string): string[] {
  const problems: string[] = []
  const locals: string[] = []
  for (const imp of importsOf(code)) {
    if (packageName(imp.specifier) !== 'bencode') continue
    if (imp.specifier !== 'bencode') { problems.push(`${rel}: imports '${imp.specifier}' (a file inside the bencode package)`); continue }
    if (imp.clause === undefined) { problems.push(`${rel}: loads 'bencode' dynamically, which cannot be checked`); continue }
    const clause = imp.clause.trim()
    const named = /\{([^}]*)\}/.exec(clause)
    for (const spec of (named?.[1] ?? '').split(',').map(s => s.trim()).filter(s => s !== '' && !s.startsWith('type '))) {
      // `encode as enc` is still encode: only the imported name matters.
      const name = spec.split(/\s+as\s+/)[0] ?? ''
      if (!SAFE_MEMBERS.has(name)) problems.push(`${rel}: imports { ${spec} } from 'bencode'`)
    }
    if (clause.startsWith('*') || clause.startsWith('export')) {
      const ns = /^\*\s+as\s+(\w+)/.exec(clause)
      if (ns === null) problems.push(`${rel}: re-exports the bencode package`)
      else locals.push(ns[1] as string)
    }
    const def = /^([A-Za-z_$][\w$]*)/.exec(clause)
    if (def !== null && def[1] !== 'type') locals.push(def[1] as string)
  }
  for (const local of locals) {
    // Import lines name paths like '../bencode/decode.js'; what counts is the code that runs.
    const body = code.replace(/\b(?:import|export)\s[^;'"]*?from\s*['"][^'"]+['"]/g, m => m.replace(/[^\n]/g, ''))
    for (const m of body.matchAll(new RegExp(`(?<![\\w$./'"\`-])${local.replace('$', '\\$')}(?![\\w$])(\\s*\\.\\s*([\\w$]+))?`, 'g'))) {
      const member = m[2]
      if (member === undefined || !SAFE_MEMBERS.has(member)) {
        const line = body.slice(0, m.index).split('\n').length
        problems.push(`${rel}: uses ${m[0].trim()}${member === undefined ? ' (the package object itself, which holds decode)' : ''} near line ${line}`)
      }
    }
  }
  return problems
}

/** Where `name` resolves from `fromDir`, the Node way (nearest node_modules upwards). */
function packageDir (name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const p = join(dir, 'node_modules', name)
    if (existsSync(join(p, 'package.json'))) return p
    if (dirname(dir) === dir) return undefined
  }
}

/** The chain of packages through which `name` depends on bencode, or undefined if it does not. */
function bencodeChain (name: string, fromDir: string, seen = new Set<string>()): string[] | undefined {
  const dir = packageDir(name, fromDir)
  if (dir === undefined || seen.has(dir)) return undefined
  seen.add(dir)
  if (name === 'bencode') return [name]
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>, optionalDependencies?: Record<string, string> }
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    const chain = bencodeChain(dep, dir, seen)
    if (chain !== undefined) return [name, ...chain]
  }
  return undefined
}

const files = sourceFiles(LIB).map(path => ({ rel: relative(ROOT, path).split(sep).join('/'), code: stripComments(readFileSync(path, 'utf8')) }))

test('only lib/bencode/decode.ts calls the bencode package\'s decode (it scans first); every other file may only encode', () => {
  assert.ok(files.some(f => f.rel === DECODER), `${DECODER} exists`)
  assert.ok(files.length > 20, `found ${files.length} files under lib/`)
  const problems = files.filter(f => f.rel !== DECODER).flatMap(f => bencodeDecodeUses(f.rel, f.code))
  assert.deepEqual(problems, [], `decode network bytes with decodeBencode from ${DECODER}, never the bencode package directly:\n${problems.join('\n')}`)
})

test('a package that decodes bencode inside it is imported only where its input is screened', () => {
  const problems: string[] = []
  const chains = new Map<string, string[] | undefined>()
  for (const f of files) {
    for (const imp of importsOf(f.code)) {
      const name = packageName(imp.specifier)
      if (name === undefined || name === 'bencode') continue
      if (!chains.has(name)) chains.set(name, bencodeChain(name, ROOT))
      const chain = chains.get(name)
      if (chain === undefined) continue
      const rule = SCREENED[name]
      if (rule === undefined) problems.push(`${f.rel}: imports ${name}, which decodes bencode (${chain.join(' -> ')}) and has no screen`)
      else if (rule.file !== f.rel) problems.push(`${f.rel}: imports ${name}; only ${rule.file} may (${rule.why})`)
      else if (!rule.proof.test(f.code)) problems.push(`${f.rel}: imports ${name} without ${rule.proof} (${rule.why})`)
    }
  }
  // The walk itself works: bittorrent-dht does reach an old bencode.
  assert.deepEqual(chains.get('bittorrent-dht')?.at(-1), 'bencode')
  assert.deepEqual(problems, [], problems.join('\n'))
})

test('the structure check itself catches a direct decode, a named import and a hand-off of the package', () => {
  const uses = (code: string): string[] => bencodeDecodeUses('x.ts', stripComments(code))
  assert.deepEqual(uses("import bencode from 'bencode'\nconst b = bencode.encode({}) // bencode.decode in a comment\n"), [])
  assert.equal(uses("import bencode from 'bencode'\nconst v = bencode.decode(b)\n").length, 1)
  assert.equal(uses("import bencode from 'bencode'\nconst v = bencode['decode'](b)\n").length, 1)
  assert.equal(uses("import b from 'bencode'\nuse(b)\n").length, 1)
  assert.equal(uses("import { decode as d } from 'bencode'\n").length, 1)
  assert.equal(uses("import * as B from 'bencode'\nB.decode(x)\n").length, 1)
  assert.equal(uses("const B = await import('bencode')\n").length, 1)
  assert.equal(uses("import decode from 'bencode/lib/decode.js'\n").length, 1)
  assert.deepEqual(uses("import { encode } from 'bencode'\nencode(1)\n"), [])
})
