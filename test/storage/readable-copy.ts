/**
 * A copy of a compiled test child that another user can run, wherever the clone lives.
 *
 * A test that starts a child as `nobody` (to meet a real EACCES) fails when the clone sits in a
 * private directory (`mktemp -d` is mode 0700): `nobody` cannot read the child's code. So the
 * child is copied, with the compiled modules it imports (followed from its `import ... from`
 * lines) and the npm packages those need (followed through each package.json `dependencies`),
 * into a world-readable temporary directory. The copy keeps the layout below `dist/`, so the
 * child's relative imports resolve there unchanged; `fixtures/` (which test/helpers reads when it
 * loads) comes along.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'

/** Static imports and re-exports of a compiled ES module (tsc output: one per line). */
const IMPORT = /^(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/gm

export interface ReadableCopy {
  /** The copied entry module. */
  readonly entry: string
  readonly dir: string
  readonly cleanup: () => void
}

/**
 * @param entry a compiled module under `<project>/dist/`
 */
export function readableCopy (entry: string): ReadableCopy {
  const distRoot = distOf(entry)
  const project = dirname(distRoot)
  const dir = mkdtempSync(join(tmpdir(), 'bt-stream-readable-'))
  try {
    const packages = new Set<string>()
    const seen = new Set<string>()
    const walk = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const target = join(dir, 'dist', relative(distRoot, file))
      mkdirSync(dirname(target), { recursive: true })
      cpSync(file, target)
      for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const spec = m[1] as string
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec))
        else if (!spec.startsWith('node:')) packages.add(packageName(spec))
      }
    }
    walk(entry)
    copyPackages(join(project, 'node_modules'), join(dir, 'node_modules'), packages)
    cpSync(join(project, 'fixtures'), join(dir, 'fixtures'), { recursive: true, dereference: true })
    worldReadable(dir)
    return { entry: join(dir, 'dist', relative(distRoot, entry)), dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

function distOf (file: string): string {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) if (d.endsWith('/dist') || d.endsWith('\\dist')) return d
  throw new Error(`${file} is not under a dist/ directory`)
}

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`. */
function packageName (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] as string
}

/** The packages and their runtime dependencies, hoisted layout (as npm installs them). */
function copyPackages (from: string, to: string, names: Set<string>): void {
  const queue = [...names]
  const done = new Set<string>()
  while (queue.length > 0) {
    const name = queue.pop() as string
    if (done.has(name)) continue
    done.add(name)
    const src = join(from, name)
    if (!existsSync(src)) throw new Error(`package ${name} is not installed in ${from}`)
    cpSync(src, join(to, name), { recursive: true, dereference: true })
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    queue.push(...Object.keys(pkg.dependencies ?? {}))
  }
}

function worldReadable (path: string): void {
  const st = statSync(path)
  chmodSync(path, st.isDirectory() ? 0o755 : 0o644)
  if (st.isDirectory()) for (const name of readdirSync(path)) worldReadable(join(path, name))
}
