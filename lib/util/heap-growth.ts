/**
 * How far V8 lets the heap grow while downloads run, for the whole process.
 *
 * The young generation: V8 doubles it each time as many bytes survived its minor GCs (summed
 * since the last doubling) as it holds, up to two 16 MiB semi-spaces. Over a long download the
 * few bytes that survive each minor GC (promises, messages across an I/O turn) add up, so every
 * download ended with the full 32 MiB committed, though what lives there at once is a few MiB.
 * The old generation: after each full GC V8 lets it grow up to 4x what survived before the next;
 * a download's survivors are per-piece bookkeeping that dies soon after, so it climbed to ~40 MB
 * between full GCs. Measured, a library download() of 1 GiB (4 seeders, 256 KiB pieces): peak
 * RssAnon 80-83 MiB as V8 decides, 60-67 held (doubling off, old generation growing by half),
 * the same speed.
 *
 * The old generation's limit is also at least 8 MiB above what survived (V8's minimum step, which
 * no flag sets), and V8 starts marking only as the heap nears it: over a long download each full
 * GC came at ~17 MiB of old generation for ~8.5 that survived, so a 4 GiB download peaked ~9 MiB
 * above a 256 MiB one, which ends before its first. Marking starts once half of that step is used
 * (`--incremental-marking-hard-trigger`, in percent of the limit minus what survived; started from
 * the allocation that crosses it, not from a task a busy thread may not run): peak RssAnon at
 * 4 GiB 56 -> 52.6 MiB (3 runs each; 256 MiB unchanged at 47.3); speed and CPU per GiB within the
 * noise of interleaved 1 GiB runs (CPU medians of two A/Bs of 8 and 12 rounds: 3.18 and 3.33 s
 * without, 3.23 and 3.29 with). A trigger started from a task instead (the soft trigger) let a
 * busy loop's old generation grow to 460 MiB: the task never ran.
 *
 * V8 reads these flags each time it decides (`--max-semi-space-size` is read once, when the heap
 * is made), so a running process can set them. They are process-wide: held only while a download
 * runs and V8's defaults put back after the last, never touched when the host chose a heap size
 * itself (node flags). Starting a worker thread re-applies V8's flag implications, which raise the
 * growth factor back to its minimum of 2: set again once the thread runs.
 */
import { setFlagsFromString } from 'node:v8'

const HOLD = ['--semi-space-growth-factor=1', '--heap-growing-percent=50', '--incremental-marking-hard-trigger=50']
/** V8's defaults (Node 20 to 24); a growing percent of 0 is V8's own, dynamic, factor, a trigger of 0 V8's own heuristics. */
const RESTORE = ['--semi-space-growth-factor=2', '--heap-growing-percent=0', '--incremental-marking-hard-trigger=0']

/** Node options the host started with that size the heap: theirs to decide. */
const hostChose = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some(a => /semi[-_]space|heap[-_]growing|old[-_]space|incremental[-_]marking/.test(a))

let holders = 0
/** The command line holds it for the whole process (it runs only downloads and seeds). */
let pinned = false
let watchingWorkers = false

function set (flags: readonly string[]): void {
  if (!hostChose) for (const f of flags) setFlagsFromString(f)
}

function watchWorkers (): void {
  if (watchingWorkers) return
  watchingWorkers = true
  process.on('worker', worker => { worker.once('online', () => { if (holders > 0) set(HOLD) }) })
}

/**
 * Holds the heap's growth until the returned function is called (once; later calls do nothing).
 * `enabled` false (the caller's `limitHeapGrowth: false`): nothing is held.
 */
export function holdHeapGrowth (enabled = true): () => void {
  if (!enabled) return () => {}
  if (holders++ === 0) set(HOLD)
  watchWorkers()
  let released = false
  return () => {
    if (released) return
    released = true
    if (--holders === 0) set(RESTORE)
  }
}

/** Holds it for the rest of the process (the command line): a hold never released. */
export function pinHeapGrowth (): void {
  if (pinned) return
  pinned = true
  holdHeapGrowth()
}
