// Bundles the command line (dist/lib/cli/process.js and everything it imports, commands included)
// into one file, dist/lib/cli/bundle.js, which bin/bt-stream.js loads when it is newer than the
// modules. Why: Node 20's ES module loader costs ~1.5 ms of CPU per module, and a download loads
// about 200 (ours and our dependencies'): 230-310 ms of CPU at every start, against ~50 ms for
// the same code in one file (measured). On a 2-core machine that start is CPU a download's peers
// and hashing thread could use.
//
// The bundle sits in the folder of the module it replaces, so what the code finds relative to
// its own file (import.meta.url) is where it was: ../../../package.json, the helper thread's
// ../util/helper-worker.js (not bundled: a worker loads its own few modules), and utp-native,
// a native addon required through createRequire.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
await build({
  absWorkingDir: root,
  entryPoints: ['dist/lib/cli/process.js'],
  outfile: 'dist/lib/cli/bundle.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or optional at run time: required where they are, never inlined.
  external: ['utp-native', 'node-gyp-build', 'bufferutil', 'utf-8-validate'],
  // The CommonJS dependencies (readable-stream, tar-stream) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __btStreamRequire } from 'node:module'; const require = __btStreamRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning'
})
