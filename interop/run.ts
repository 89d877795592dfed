/**
 * `npm run interop [-- CLIENT...]`: every interop cell for every client in clients/index.ts (or
 * only those named), as a markdown table on stdout, the logs of failed cells on stderr. Exits 1
 * when a cell that ran failed; skipped cells (client not installed) do not fail the run.
 */
import { CLIENTS } from './clients/index.js'
import { describeCell, Harness, type CellResult } from './harness.js'
import { failureDetails, markdownTable } from './report.js'

async function main (): Promise<number> {
  const wanted = process.argv.slice(2)
  const unknown = wanted.filter(n => !CLIENTS.some(c => c.name === n))
  if (unknown.length > 0) {
    process.stderr.write(`unknown client(s): ${unknown.join(', ')}; known: ${CLIENTS.map(c => c.name).join(', ')}\n`)
    return 2
  }
  const clients = wanted.length === 0 ? CLIENTS : CLIENTS.filter(c => wanted.includes(c.name))
  const harness = await Harness.create()
  const results: CellResult[] = []
  const versions = new Map<string, string>()
  try {
    for (const client of clients) {
      const why = await client.unavailable()
      // A driver's version may or may not carry the client's name ("libtorrent 2.0.8.0", "3.00").
      const version = why === undefined ? await client.version() : ''
      versions.set(client.name, version === '' ? client.name : version.toLowerCase().startsWith(client.name.toLowerCase()) ? version : `${client.name} ${version}`)
      await harness.runClient(client, r => {
        results.push(r)
        const o = r.outcome
        const status = o.status === 'ok' ? 'ok' : o.status === 'skipped' ? `skipped: ${o.reason}` : `FAIL: ${o.reason}`
        process.stderr.write(`${describeCell(r.client, r)}: ${status} (${(r.ms / 1000).toFixed(1)} s)\n`)
      })
    }
  } finally {
    await harness.close()
  }
  const details = failureDetails(results)
  if (details !== '') process.stderr.write(`\n${details}\n`)
  process.stdout.write(markdownTable(results, versions) + '\n')
  return results.some(r => r.outcome.status === 'fail') ? 1 : 0
}

main().then(code => { process.exitCode = code }, (err: Error) => {
  process.stderr.write(`interop: ${err.stack ?? err.message}\n`)
  process.exitCode = 1
})
