import { printSwarmBench } from './swarm/swarm-bench.js'
import { printWireLoopback } from './wire-loopback.js'
import { printWireParser } from './wire-parser.js'

/**
 * `npm run bench`: every benchmark, numbers printed (never asserted: speed varies by machine).
 * BENCH_ONLY=wire or BENCH_ONLY=swarm runs one group; bench/README.md has the swarm's setup.
 */
const only = process.env.BENCH_ONLY
if (only !== undefined && only !== '' && only !== 'wire' && only !== 'swarm') throw new Error(`BENCH_ONLY=${only}: wire or swarm`)
if (only !== 'swarm') {
  printWireParser(process.stdout)
  await printWireLoopback(process.stdout)
}
if (only !== 'wire') await printSwarmBench(process.stdout)
