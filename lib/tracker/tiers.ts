/**
 * BEP 12 announce-list tiers: each tier shuffled once, tried in order, and the tracker that
 * answers moved to the front of its tier so it is tried first next time.
 */
export class Tiers {
  private readonly tiers: string[][]

  /** Empty tiers and URLs repeated across tiers (first occurrence wins) are dropped. */
  constructor (tiers: readonly (readonly string[])[], random: () => number = Math.random) {
    const seen = new Set<string>()
    this.tiers = []
    for (const tier of tiers) {
      const urls = tier.filter(u => { const fresh = !seen.has(u); seen.add(u); return fresh })
      if (urls.length > 0) this.tiers.push(shuffle(urls, random))
    }
  }

  get count (): number {
    return this.tiers.length
  }

  /** Every URL, tier by tier, in the current order. */
  all (): string[] {
    return this.tiers.flat()
  }

  /** The current order of one tier (a copy: promotion during a walk must not skip entries). */
  tier (index: number): string[] {
    return [...(this.tiers[index] ?? [])]
  }

  /** BEP 12: "if a connection with a tracker is successful, it will be moved to the front of the tier". */
  promote (index: number, url: string): void {
    const tier = this.tiers[index]
    if (tier === undefined) return
    const at = tier.indexOf(url)
    if (at > 0) {
      tier.splice(at, 1)
      tier.unshift(url)
    }
  }
}

/** Fisher–Yates, in place. */
function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = items[i] as T
    items[i] = items[j] as T
    items[j] = tmp
  }
  return items
}
