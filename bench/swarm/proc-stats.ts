import { readFileSync } from 'node:fs'

/**
 * Peak RSS and CPU time of another process, sampled from /proc while it runs. A process's /proc
 * entry is gone once it has been reaped, so the last sample stands for the end: CPU time is short
 * by at most one SAMPLE_MS of work, and VmHWM (the kernel's own peak) misses nothing before it.
 * RssAnon has no kernel-kept peak: its peak is the largest sample, so a spike shorter than
 * SAMPLE_MS can be missed. It is the number to compare across clients: VmHWM also counts file
 * pages mapped into the process (libtorrent 2.0 maps the file it writes, so its VmHWM grows with
 * the download), RssAnon only the process's own heap, stacks and buffers.
 */
const SAMPLE_MS = 50
// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI node runs on.
const CLOCK_TICKS = 100

export interface ProcUsage {
  /** Peak resident set (VmHWM), bytes: file-backed and shared pages included. */
  peakRss: number
  /** Largest RssAnon sampled (anonymous memory: heap, stacks, buffers), bytes. */
  peakRssAnon: number
  /** user + system CPU, seconds, of every thread of the process (utime/stime of /proc/PID/stat). */
  cpuSeconds: number
}

export interface ProcSampler {
  readonly usage: ProcUsage
  stop (): ProcUsage
}

export function sampleProc (pid: number): ProcSampler {
  const usage: ProcUsage = { peakRss: 0, peakRssAnon: 0, cpuSeconds: 0 }
  const sample = (): void => {
    const s = readProc(pid)
    if (s === undefined) return
    usage.peakRss = Math.max(usage.peakRss, s.peakRss)
    usage.peakRssAnon = Math.max(usage.peakRssAnon, s.peakRssAnon)
    usage.cpuSeconds = Math.max(usage.cpuSeconds, s.cpuSeconds)
  }
  sample()
  const timer = setInterval(sample, SAMPLE_MS)
  return {
    usage,
    stop () { sample(); clearInterval(timer); return usage }
  }
}

function readProc (pid: number): ProcUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1')
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
    const anon = /^RssAnon:\s+(\d+) kB/m.exec(status)
    // Fields after the parenthesised command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(rest[11]) + Number(rest[12])
    if (hwm === null || anon === null || !Number.isFinite(ticks)) return undefined
    return { peakRss: Number(hwm[1]) * 1024, peakRssAnon: Number(anon[1]) * 1024, cpuSeconds: ticks / CLOCK_TICKS }
  } catch {
    return undefined // exited between samples
  }
}
