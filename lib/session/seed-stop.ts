/**
 * `--seed-ratio` / `--seed-time`: when seeding stops by itself. One watcher for every engine that
 * seeds (a SeedSession, a download that goes on as a seed): it looks at the ratio once a second (a
 * ratio is a slow quantity) and at the clock once, and closes the engine when either is reached.
 */

export interface SeedLimits {
  /** Stop once we uploaded this many times the torrent's size. */
  readonly seedRatio?: number
  /** Stop after seeding this long. */
  readonly seedTimeMs?: number
}

export interface SeedStopWatch {
  /**
   * Resolves with why seeding stopped ('ratio' or 'time'), once `close` resolved; never without a
   * limit, and not after `cancel()`.
   */
  readonly finished: Promise<'ratio' | 'time'>
  /** Seeding ended another way (Ctrl-C, an error): the timers are cleared. */
  cancel (): void
}

/** How often the seed ratio is looked at. */
const RATIO_CHECK_MS = 1000

export function watchSeedStop (limits: SeedLimits, uploaded: () => number, size: number, close: () => Promise<void>): SeedStopWatch {
  const timers: Array<ReturnType<typeof setTimeout>> = []
  let over = false
  const cancel = (): void => {
    over = true
    for (const t of timers) clearTimeout(t)
  }
  const finished = new Promise<'ratio' | 'time'>((resolve) => {
    if (limits.seedRatio === undefined && limits.seedTimeMs === undefined) return
    const end = (why: 'ratio' | 'time'): void => {
      if (over) return
      cancel()
      void close().then(() => resolve(why), () => resolve(why))
    }
    if (limits.seedTimeMs !== undefined) timers.push(setTimeout(() => end('time'), limits.seedTimeMs))
    const ratio = limits.seedRatio
    if (ratio !== undefined) {
      const check = (): void => { if (uploaded() >= ratio * size) end('ratio') }
      timers.push(setInterval(check, RATIO_CHECK_MS))
      check()
    }
  })
  return { finished, cancel }
}
