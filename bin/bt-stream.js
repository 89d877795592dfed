#!/usr/bin/env node
// The command-line entry: wires the process to lib/cli (compiled to dist/ on install).
import { statSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// Memory (issue 18): V8 doubles its young generation each time enough objects survived a minor
// GC, up to two 16 MiB semi-spaces (heap committed 43 MB during a download, 32 of them young);
// a download's young objects die young, so it stays at its initial two 1 MiB halves (heap ~15
// MB). V8 reads the factor each time it would grow, so it works set here (`--max-semi-space-size`
// would not: it is read once, when the heap is made), before the CLI's modules load (loading them
// grew it too). Starting a worker thread re-applies V8's flag implications, which raise the factor
// back to its minimum of 2: it is set again once each thread runs.
const YOUNG_GENERATION_STAYS = '--semi-space-growth-factor=1'
setFlagsFromString(YOUNG_GENERATION_STAYS)
// After each full GC, V8 lets the old generation grow to up to 4x what survived before the next
// one; a download's survivors are per-piece bookkeeping that dies soon after, so the heap climbed
// to ~40 MB between full GCs with 64 KiB pieces (peak RssAnon 78-82 MiB at 1 GiB). Growing by
// half: 59-61 MiB, no more CPU (measured); read after every full GC, so it works set here.
setFlagsFromString('--heap-growing-percent=50')
process.on('worker', worker => { worker.once('online', () => { setFlagsFromString(YOUNG_GENERATION_STAYS) }) })

// The CLI in one file (scripts/bundle-cli.mjs, part of `npm run build`): ~250 ms less CPU to start
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
