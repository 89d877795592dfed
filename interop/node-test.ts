/**
 * The interop cells of one client as node:test tests (test/interop/<client>.test.ts): one test per
 * cell, skipped with the install hint when the client is not here. A failure prints the client's
 * log and our stderr.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { CELLS, describeCell, Harness } from './harness.js'

/**
 * Per cell in `npm test`: a cell that works takes a few seconds; a stalled one fails here rather
 * than at `npm run interop`'s 60 s, so a file of six cells stays within the runner's time.
 */
export const TEST_CELL_TIMEOUT_MS = 25_000
import type { InteropClient } from './clients/types.js'

export function interopTests (client: InteropClient): void {
  let harness: Harness | undefined
  before(async () => { harness = await Harness.create() })
  after(async () => { await harness?.close() })
  for (const cell of CELLS) {
    test(`BEP 3 interop: ${describeCell(client.name, cell)}, byte-identical`, async t => {
      const why = await client.unavailable()
      if (why !== undefined) { t.skip(why); return }
      if (harness === undefined) throw new Error('the harness did not start')
      const r = await harness.runCell(client, cell, TEST_CELL_TIMEOUT_MS)
      if (r.outcome.status === 'skipped') { t.skip(r.outcome.reason); return }
      if (r.outcome.status === 'fail') assert.fail(`${r.outcome.reason}\n${r.outcome.log}`)
    })
  }
}
