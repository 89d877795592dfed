#!/usr/bin/env node
// The command-line entry: wires the process to lib/cli (compiled to dist/ on install).
import { setFlagsFromString } from 'node:v8'

// Memory (issue 18): V8 doubles its young generation each time enough objects survived a minor
// GC, up to two 16 MiB semi-spaces (heap committed 43 MB during a download, 26 of them young);
// a download's young objects die young, so it stays at its initial two 1 MiB halves (heap 15 MB).
// Read by V8 each time it would grow, so it works set here; `--max-semi-space-size` would not (it
// is read once, when the heap is made). Before the CLI's modules load: loading them grew it too.
setFlagsFromString('--semi-space-growth-factor=1')
const { run } = await import('../dist/lib/cli/process.js')
run()
