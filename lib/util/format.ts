/** Binary units, as torrent clients show sizes: 1 KiB = 1024 bytes. */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']

/** `1536` -> `1.5 KiB`; three significant digits at most, whole bytes below 1 KiB. */
export function humanSize (bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`not a size: ${bytes}`)
  let unit = 0
  let v = bytes
  while (v >= 1024 && unit < UNITS.length - 1) { v /= 1024; unit++ }
  if (unit === 0) return `${bytes} B`
  let text = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
  // toFixed may round up to 1024 (1023.9 KiB -> "1024"): show the next unit instead.
  if (Number(text) >= 1024 && unit < UNITS.length - 1) { text = '1'; unit++ }
  if (text.includes('.')) text = text.replace(/\.?0+$/, '')
  return `${text} ${UNITS[unit] as string}`
}

/**
 * Text from a torrent or magnet is untrusted: escape control characters (terminal escape
 * sequences, newlines that would forge extra output lines) before printing it for humans.
 */
export function printable (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, c => c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}
