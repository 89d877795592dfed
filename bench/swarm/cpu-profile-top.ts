import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * The top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`), so a
 * profile can be read in a terminal or pasted into a report:
 *
 *   node dist/bench/swarm/cpu-profile-top.js FILE.cpuprofile|DIR [N]   (DIR: its newest profile)
 */
interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number } }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export function topSelfTime (profile: Profile, n: number): string {
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const self = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    const f = byId.get(id)?.callFrame
    if (f === undefined) return
    const file = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')
    const key = `${f.functionName === '' ? '(anonymous)' : f.functionName}  ${file}${file === '' ? '' : `:${f.lineNumber + 1}`}`
    self.set(key, (self.get(key) ?? 0) + dt)
    total += dt
  })
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, n)
  const lines = [`profile: ${(total / 1e6).toFixed(2)} s sampled; top ${rows.length} by self time`]
  for (const [key, us] of rows) lines.push(`  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${(100 * us / total).toFixed(1).padStart(5)}%  ${key}`)
  return lines.join('\n') + '\n'
}

/** The newest .cpuprofile in a directory (node names them by time and PID). */
export function newestProfile (dir: string): string | undefined {
  const files = readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).map(f => join(dir, f))
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = process.argv[2]
  if (arg === undefined) {
    process.stderr.write('usage: cpu-profile-top.js FILE.cpuprofile|DIR [N]\n')
    process.exitCode = 2
  } else {
    const file = statSync(arg).isDirectory() ? newestProfile(arg) : arg
    if (file === undefined) throw new Error(`no .cpuprofile in ${arg}`)
    process.stdout.write(`${file}\n` + topSelfTime(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25)))
  }
}
