import { readFileSync } from 'node:fs'

/**
 * Peak RSS and CPU time of another process, sampled from /proc while it runs. A process's /proc
 * entry is gone once it has been reaped, so the last sample stands for the end: CPU time is short
 * by at most one SAMPLE_MS of work, and VmHWM (the kernel's own peak) misses nothing before it.
 */
const SAMPLE_MS = 50
// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI node runs on.
const CLOCK_TICKS = 100

export interface ProcUsage {
  /** Peak resident set (VmHWM), bytes. */
  peakRss: number
  /** user + system CPU, seconds. */
  cpuSeconds: number
}

export interface ProcSampler {
  readonly usage: ProcUsage
  stop (): ProcUsage
}

export function sampleProc (pid: number): ProcSampler {
  const usage: ProcUsage = { peakRss: 0, cpuSeconds: 0 }
  const sample = (): void => {
    const s = readProc(pid)
    if (s === undefined) return
    usage.peakRss = Math.max(usage.peakRss, s.peakRss)
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
    // Fields after the parenthesised command name (which may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(rest[11]) + Number(rest[12])
    if (hwm === null || !Number.isFinite(ticks)) return undefined
    return { peakRss: Number(hwm[1]) * 1024, cpuSeconds: ticks / CLOCK_TICKS }
  } catch {
    return undefined // exited between samples
  }
}
