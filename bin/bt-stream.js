#!/usr/bin/env node
// The command-line entry: wires the process to lib/cli (compiled to dist/ on install).
import { statSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// Memory (issue 18): V8's heap grows less while the CLI runs (lib/util/heap-growth.ts says how
// and why; the CLI pins it for the whole process, and sets it again after a worker thread
// starts). Set here too, before the CLI's modules load: loading them grew the heap already.
setFlagsFromString('--semi-space-growth-factor=1')
setFlagsFromString('--heap-growing-percent=50')
// V8's mode for a small heap (a hashing thread started later gets small young spaces; the old
// generation's minimum step between full GCs stays 8 MiB, --trace-gc-verbose shows). Peak RssAnon
// 50.0 -> 47.4 MiB at 256 MiB and 58.6 -> 56.1 at 4 GiB (3 runs each); speed and CPU within the
// noise of 6 interleaved rounds at 1 GiB, and of 16 more without it.
setFlagsFromString('--optimize-for-size')
// CPU (issue 18): TurboFan spends ~0.45 s of a 1 GiB download's ~3.5 s optimizing our hot
// paths (perf, by thread), most of it inlining. With half of V8's inlining budget per function
// (920 bytes of bytecode): 0.32-0.41 s in 6 runs, 0.43-0.50 in 4 without, the JavaScript no
// slower; download speed moved within the noise of interleaved A/Bs (+3% over 8 rounds, -2% over
// 6). The CLI's process only: a library user's long-running process has its own JIT trade-offs.
setFlagsFromString('--max-inlined-bytecode-size-cumulative=460')

// The CLI in one file (scripts/bundle.mjs, part of `npm run build`): ~250 ms less CPU to start
// than its ~200 modules. Only when it is at least as new as the modules: after a bare `tsc` it is
// stale, and running old code would be worse than starting slowly. BT_STREAM_UNBUNDLED=1 runs the
// modules anyway, for what patches them from outside (a preloaded probe, a debugger's breakpoints).
const modules = new URL('../dist/lib/cli/process.js', import.meta.url)
const bundle = new URL('../dist/lib/cli/bundle.js', import.meta.url)
const bundled = process.env.BT_STREAM_UNBUNDLED !== '1' && isFresh(bundle, modules)
const { run } = await import(bundled ? bundle.href : modules.href)
run()

function isFresh (file, than) {
  const a = statSync(file, { throwIfNoEntry: false })
  const b = statSync(than, { throwIfNoEntry: false })
  return a !== undefined && b !== undefined && a.mtimeMs >= b.mtimeMs
}
