/**
 * The `Range` request header (RFC 9110 section 14), for one representation of a known length:
 *
 *   Range = ranges-specifier ; ranges-specifier = range-unit "=" range-set
 *   range-set = 1#range-spec ; range-spec = int-range / suffix-range / other-range
 *   int-range = first-pos "-" [ last-pos ] ; suffix-range = "-" suffix-length
 *
 * What each outcome means for the response:
 * - 'full': serve 200 with the whole file. The header is absent, names another unit (14.2: "MUST
 *   ignore a Range header field that contains a range unit it does not understand"), or is not
 *   valid (14.2: a server "MAY ignore" an invalid ranges-specifier; so do most servers).
 * - 'partial': serve 206 with `Content-Range: bytes first-last/length`. Several ranges are
 *   coalesced into the one that covers them (15.3.7: a server "MAY coalesce" ranges; one part
 *   keeps the response a plain body that every player reads).
 * - 'unsatisfiable': 416 with `Content-Range: bytes * /length` (no space): no range-spec overlaps
 *   the representation (14.1.1: a first-pos at or past the length, or a suffix-length of zero).
 */

export type RangeResult =
  | { readonly type: 'full' }
  /** Bytes [start, end) of the representation; end exclusive. */
  | { readonly type: 'partial', readonly start: number, readonly end: number }
  | { readonly type: 'unsatisfiable' }

const FULL: RangeResult = Object.freeze({ type: 'full' })
const UNSATISFIABLE: RangeResult = Object.freeze({ type: 'unsatisfiable' })

/**
 * More range-specs than this and the header is ignored (a whole response): no player asks for
 * more than a couple, and a list of thousands costs a scan for nothing (14.2 allows ignoring
 * "many small ranges").
 */
export const MAX_RANGE_SPECS = 64

/**
 * 1*DIGIT. A position too long for an exact number is still a number far past any file's end:
 * a first-pos there is unsatisfiable, a last-pos means "to the end".
 */
const DIGITS = /^[0-9]+$/

export function parseRange (header: string | undefined, length: number): RangeResult {
  if (header === undefined) return FULL
  const eq = header.indexOf('=')
  if (eq === -1) return FULL
  // range-unit is a token, compared case-insensitively (14.1); no whitespace around '='.
  if (header.slice(0, eq).toLowerCase() !== 'bytes') return FULL
  const specs = header.slice(eq + 1).split(',')
  if (specs.length > MAX_RANGE_SPECS) return FULL
  let start = Infinity
  let end = -Infinity
  let listed = 0
  for (const raw of specs) {
    // 1#element: optional whitespace around each element, and empty elements are allowed and
    // do not count (RFC 9110 5.6.1), but at least one must be present.
    const spec = raw.replace(/^[ \t]+|[ \t]+$/g, '')
    if (spec === '') continue
    listed++
    const dash = spec.indexOf('-')
    if (dash === -1) return FULL
    const first = spec.slice(0, dash)
    const last = spec.slice(dash + 1)
    if (first === '') {
      // suffix-range: the last N bytes, or the whole representation when it is shorter.
      if (!DIGITS.test(last)) return FULL
      const n = Number(last)
      if (n === 0 || length === 0) continue
      start = Math.min(start, Math.max(0, length - n))
      end = Math.max(end, length)
      continue
    }
    if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return FULL
    const a = Number(first)
    const b = last === '' ? Infinity : Number(last)
    // 14.1.1: a last-pos below its first-pos makes the ranges-specifier invalid.
    if (b < a) return FULL
    if (a >= length) continue
    start = Math.min(start, a)
    end = Math.max(end, Math.min(b, length - 1) + 1)
  }
  if (listed === 0) return FULL
  if (start === Infinity) return UNSATISFIABLE
  return { type: 'partial', start, end }
}

/** `Content-Range` of a 206 (15.3.7: last-pos inclusive). */
export function contentRange (start: number, end: number, length: number): string {
  return `bytes ${start}-${end - 1}/${length}`
}

/** `Content-Range` of a 416 (15.5.17): the representation's length only. */
export function unsatisfiedRange (length: number): string {
  return `bytes */${length}`
}
