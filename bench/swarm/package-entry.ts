/**
 * The file `import ... from 'bt-stream'` loads for the package at `root` (its package.json
 * "exports"), so a benchmark of the library measures what a user of it runs: the bundled entry,
 * not the modules it was made from.
 */
import { readFileSync } from 'node:fs'

interface PackageJson { exports?: { '.'?: { default?: string } }, main?: string }

export function packageEntry (root: URL): URL {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson
  const entry = pkg.exports?.['.']?.default ?? pkg.main
  if (entry === undefined) throw new Error(`${root.pathname}package.json names no entry`)
  return new URL(entry, root)
}
