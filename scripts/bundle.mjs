// Bundles what a process loads into one file each, as part of `npm run build`:
// - the command line (dist/lib/cli/process.js and everything it imports, commands included) into
//   dist/lib/cli/bundle.js, which bin/bt-stream.js loads when it is newer than the modules;
// - the package's entry (dist/lib/index.js) into dist/lib/bundle/index.js, what `import ... from
//   'bt-stream'` loads (package.json "exports").
// Why: Node 20's ES module loader costs ~1.5 ms of CPU per module, and a download loads about 200
// (ours and our dependencies'): 230-310 ms of CPU at every start, against ~50 ms for the same code
// in one file; and ~200 module records held 17 MiB more RSS than the one file (measured:
// importing dist/lib/index.js +23 MiB RssAnon, the bundle +7), most of a library download's
// excess over the CLI's.
//
// Each bundle sits one folder below dist/lib, so what the code finds relative to its own file
// (import.meta.url) is where it was: the CLI's ../../../package.json, the helper thread's
// ../util/helper-worker.js (not bundled: a worker loads its own few modules), and utp-native, a
// native addon required through createRequire.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const BUNDLES = [
  { entry: 'dist/lib/cli/process.js', out: 'dist/lib/cli/bundle.js' },
  { entry: 'dist/lib/index.js', out: 'dist/lib/bundle/index.js' }
]
await Promise.all(BUNDLES.map(({ entry, out }) => build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or optional at run time: required where they are, never inlined.
  external: ['utp-native', 'node-gyp-build', 'bufferutil', 'utf-8-validate'],
  // The CommonJS dependencies (readable-stream, tar-stream) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __btStreamRequire } from 'node:module'; const require = __btStreamRequire(import.meta.url);" },
  // V8 keeps each bundle's source in the heap for the whole run: with comments (some not Latin-1,
  // so two bytes per character) the CLI's was a 2.25 MB string, without them and the indentation
  // 0.74 MB (peak RssAnon of a download -3.4 MiB, measured at 256 MiB and 4 GiB). Names are kept,
  // so stack traces still name functions; the source map has the lines.
  minifyWhitespace: true,
  sourcemap: 'linked',
  logLevel: 'warning'
})))
