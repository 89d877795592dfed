import { UsageError } from '../util/errors.js'

/** How one option is spelled and whether it takes a value. */
export interface OptionSpec {
  readonly long: string
  readonly short?: string
  readonly value: boolean
}

export interface ParsedArgs {
  readonly positionals: string[]
  /** Flags map to `true`; valued options to their last value. */
  readonly options: Map<string, string | true>
  /** Every value of each valued option, in order (for repeatable options like `--tracker`). */
  readonly all: Map<string, string[]>
}

/**
 * A small strict parser: unknown options are usage errors (exit 2), `--` ends options, and a lone
 * `-` is a positional (it means stdin). `--name=value` and `--name value` are both accepted.
 */
export function parseArgs (argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const positionals: string[] = []
  const options = new Map<string, string | true>()
  const all = new Map<string, string[]>()
  const byLong = new Map(specs.map(s => [s.long, s]))
  const byShort = new Map(specs.filter(s => s.short !== undefined).map(s => [s.short as string, s]))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break }
    if (arg === '-' || !arg.startsWith('-')) { positionals.push(arg); continue }
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : arg.slice(1)
    const spec = arg.startsWith('--') ? byLong.get(name) : byShort.get(name)
    if (spec === undefined) throw new UsageError(`unknown option ${arg}`)
    if (!spec.value) {
      if (eq !== -1) throw new UsageError(`option --${spec.long} takes no value`)
      options.set(spec.long, true)
      continue
    }
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else value = argv[++i]
    if (value === undefined) throw new UsageError(`option --${spec.long} needs a value`)
    options.set(spec.long, value)
    all.set(spec.long, [...(all.get(spec.long) ?? []), value])
  }
  return { positionals, options, all }
}

/** A valued option as a string, or undefined when absent. */
export function optionString (args: ParsedArgs, long: string): string | undefined {
  const v = args.options.get(long)
  return typeof v === 'string' ? v : undefined
}

/** Every value a repeatable option was given, in order; empty when absent. */
export function optionList (args: ParsedArgs, long: string): string[] {
  return args.all.get(long) ?? []
}

/** A non-negative integer option within bounds; a usage error names the option otherwise. */
export function optionInt (args: ParsedArgs, long: string, min: number, max: number): number | undefined {
  const v = optionString(args, long)
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${long} must be a whole number, got "${v}"`)
  const n = Number(v)
  if (n < min || n > max) throw new UsageError(`--${long} must be between ${min} and ${max}, got ${n}`)
  return n
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 }

/** A byte size like `32M`, `64MiB`, `1048576`; binary units. */
export function optionSize (args: ParsedArgs, long: string, min: number, max: number): number | undefined {
  const v = optionString(args, long)
  if (v === undefined) return undefined
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v)
  const unit = m === null ? undefined : SIZE_UNITS[(m[2] as string).toLowerCase()]
  if (m === null || unit === undefined) throw new UsageError(`--${long} must be a size like 32M or 65536, got "${v}"`)
  const n = Math.round(Number(m[1]) * unit)
  if (n < min || n > max) throw new UsageError(`--${long} must be between ${min} and ${max} bytes, got ${n}`)
  return n
}

/**
 * A timeout option, in seconds like every `--*-timeout` (`10`, `0.5`), returned in milliseconds.
 * A value past `max` says so, with the unit: `--timeout 5000` was milliseconds once.
 */
export function optionSeconds (args: ParsedArgs, long: string, min: number, max: number): number | undefined {
  const v = optionString(args, long)
  if (v === undefined) return undefined
  if (!/^\d+(\.\d+)?$/.test(v)) throw new UsageError(`--${long} must be a number of seconds, got "${v}"`)
  const s = Number(v)
  if (s < min || s > max) throw new UsageError(`--${long} must be between ${min} and ${max} seconds, got ${s}`)
  return Math.round(s * 1000)
}
