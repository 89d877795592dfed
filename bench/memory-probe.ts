/**
 * Loaded into a measured bt-stream process by bench/memory.ts (`node --import`): what V8 and
 * Node say about the process's memory at the moment its anonymous RSS peaked, written as one JSON
 * line to MEMORY_PROBE_OUT when the process exits. Sampled every SAMPLE_MS on an unref'd timer,
 * so it never keeps the process alive; it allocates a few hundred bytes per sample.
 *
 * Worker threads inherit `--import` (execArgv): only the main thread samples.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { getHeapSpaceStatistics } from 'node:v8'
import { isMainThread } from 'node:worker_threads'

const SAMPLE_MS = 50

export interface ProbeReport {
  /** RssAnon at the peak this probe saw (bytes). */
  readonly rssAnon: number
  /** V8's main-thread heap, committed (process.memoryUsage().heapTotal), and in use. */
  readonly heapTotal: number
  readonly heapUsed: number
  /** The young generation's committed size (both semi-spaces). */
  readonly newSpace: number
  /** ArrayBuffer memory (Buffers): piece buffers, socket reads, output copies. */
  readonly arrayBuffers: number
  /** The largest arrayBuffers and heapTotal seen at any sample (not only at the peak). */
  readonly maxArrayBuffers: number
  readonly maxHeapTotal: number
}

const out = process.env.MEMORY_PROBE_OUT
if (isMainThread && out !== undefined && out !== '') {
  let report: ProbeReport = { rssAnon: 0, heapTotal: 0, heapUsed: 0, newSpace: 0, arrayBuffers: 0, maxArrayBuffers: 0, maxHeapTotal: 0 }
  const sample = (): void => {
    const m = process.memoryUsage()
    const maxArrayBuffers = Math.max(report.maxArrayBuffers, m.arrayBuffers)
    const maxHeapTotal = Math.max(report.maxHeapTotal, m.heapTotal)
    const rssAnon = rssAnonOfSelf()
    if (rssAnon > report.rssAnon) {
      const newSpace = getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size ?? 0
      report = { rssAnon, heapTotal: m.heapTotal, heapUsed: m.heapUsed, newSpace, arrayBuffers: m.arrayBuffers, maxArrayBuffers, maxHeapTotal }
    } else {
      report = { ...report, maxArrayBuffers, maxHeapTotal }
    }
  }
  setInterval(sample, SAMPLE_MS).unref()
  process.on('exit', () => { writeFileSync(out, JSON.stringify(report) + '\n') })
}

function rssAnonOfSelf (): number {
  const kb = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'))
  return kb === null ? 0 : Number(kb[1]) * 1024
}
