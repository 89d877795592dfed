import { printMemoryBench } from './memory.js'
import { printMetadataFetch } from './metadata-fetch.js'
import { printRc4Bench } from './rc4.js'
import { printDiskDownload } from './disk-download.js'
import { formatGoals } from './goals.js'
import { printSeedUpload } from './seed-upload.js'
import { printSeedVsLibtorrent } from './seed-vs-libtorrent.js'
import { printServeBench } from './serve.js'
import { printSlowSwarm } from './slow-swarm.js'
import { printWebSeedBench } from './webseed.js'
import { printUtpBench } from './utp.js'
import { printV2Bench } from './v2.js'
import { printSwarmBench } from './swarm/swarm-bench.js'
import { printWireLoopback } from './wire-loopback.js'
import { printWireParser } from './wire-parser.js'

/**
 * `npm run bench`: every benchmark, numbers printed (never asserted: speed varies by machine).
 * BENCH_ONLY=wire|seed|metadata|swarm|memory|disk|slow|webseed|utp|serve|v2 runs one group, or several
 * comma-separated (`BENCH_ONLY=swarm,slow,disk,seed`: issue 18's rows and one goals table);
 * bench/README.md has the swarm's setup.
 */
const GROUPS = ['wire', 'seed', 'metadata', 'swarm', 'memory', 'disk', 'slow', 'webseed', 'utp', 'serve', 'v2'] as const
const only = (process.env.BENCH_ONLY ?? '').split(',').filter(g => g !== '')
for (const g of only) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`BENCH_ONLY=${g}: one of ${GROUPS.join(', ')}`)
const run = (group: typeof GROUPS[number]): boolean => only.length === 0 || only.includes(group)
if (run('wire')) {
  printWireParser(process.stdout)
  await printWireLoopback(process.stdout)
  await printRc4Bench(process.stdout)
}
if (run('seed')) {
  await printSeedUpload(process.stdout)
  await printSeedVsLibtorrent(process.stdout)
}
if (run('metadata')) await printMetadataFetch(process.stdout)
if (run('swarm')) await printSwarmBench(process.stdout)
if (run('memory')) await printMemoryBench(process.stdout)
if (run('disk')) await printDiskDownload(process.stdout)
if (run('slow')) await printSlowSwarm(process.stdout)
if (run('webseed')) await printWebSeedBench(process.stdout)
if (run('serve')) await printServeBench(process.stdout)
if (run('utp')) await printUtpBench(process.stdout)
if (run('v2')) await printV2Bench(process.stdout)
// Issue 18's goals, from what the groups above recorded (bench/goals.ts); only after a group
// that measures some of them.
if (run('swarm') || run('slow') || run('disk') || run('seed')) process.stdout.write('\n' + formatGoals())
