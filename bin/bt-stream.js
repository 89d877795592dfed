#!/usr/bin/env node
// The command-line entry: wires the process to lib/cli (compiled to dist/ on install).
import { run } from '../dist/lib/cli/process.js'
run()
