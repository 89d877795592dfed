import { MetainfoError } from '../util/errors.js'

/**
 * Paths in a .torrent are chosen by whoever made it. This turns untrusted path components into a
 * relative, '/'-separated path that stays under any output directory, on every OS.
 *
 * Policy (also in README.md, "Safe paths"):
 * - reject: a `..` component, a NUL byte, a path with nothing left after cleaning, and two files
 *   that would land on the same path (or a file that is also another file's directory). These are
 *   either attacks or torrents that cannot be stored faithfully, so guessing would be wrong.
 * - drop: empty and `.` components (`a//b`, `./a`): they name no directory.
 * - sanitise, replacing with `_`: `/` and `\` inside a component (so `/etc/passwd` as one
 *   component becomes `_etc_passwd`, never an absolute path), control characters and the
 *   characters Windows forbids (`<>:"|?*`, so `C:` cannot be a drive), and a trailing dot or space
 *   (Windows strips them, which would merge names); Windows device names (`CON`, `nul.txt`,
 *   `COM1`…) get a `_` prefix.
 * The same rules apply on every platform so a torrent lands on the same paths everywhere.
 */

const REPLACEMENT = '_'
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[/\\<>:"|?*\u0000-\u001f\u007f]/g
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i
const TRAILING_DOT_OR_SPACE = /[. ]$/

/** One cleaned component, or undefined when it should be dropped. Throws on `..` and NUL. */
export function safeComponent (component: string, where: string): string | undefined {
  if (component.includes('\u0000')) throw new MetainfoError(`${where}: path component contains a NUL byte`)
  if (component === '..') throw new MetainfoError(`${where}: path component ".." would leave the download directory`)
  if (component === '' || component === '.') return undefined
  let c = component.replace(UNSAFE_CHARS, REPLACEMENT)
  if (TRAILING_DOT_OR_SPACE.test(c)) c = c.slice(0, -1) + REPLACEMENT
  if (WINDOWS_DEVICE.test(c)) c = REPLACEMENT + c
  return c
}

/** Cleans every component and joins them with '/'. `where` names the file in errors. */
export function safeRelativePath (components: readonly string[], where: string): string {
  const out: string[] = []
  for (const c of components) {
    const s = safeComponent(c, where)
    if (s !== undefined) out.push(s)
  }
  if (out.length === 0) throw new MetainfoError(`${where}: path is empty after removing empty and "." components`)
  return out.join('/')
}

/**
 * Rejects two files on the same path, and a file whose path is a directory of another file
 * (`a` and `a/b`): either would make one file overwrite or block another.
 */
export function checkNoCollisions (paths: readonly { path: string, where: string }[]): void {
  const files = new Map<string, string>()
  for (const p of paths) {
    const other = files.get(p.path)
    if (other !== undefined) throw new MetainfoError(`${p.where} and ${other} both map to the path "${p.path}"`)
    files.set(p.path, p.where)
  }
  for (const p of paths) {
    for (let i = p.path.indexOf('/'); i !== -1; i = p.path.indexOf('/', i + 1)) {
      const dir = p.path.slice(0, i)
      const other = files.get(dir)
      if (other !== undefined) throw new MetainfoError(`${other} has the path "${dir}", which ${p.where} needs as a directory`)
    }
  }
}
