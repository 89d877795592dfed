import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { seedFixture } from '../seed/fixture-seed.js'
import { openTransport, serveOverUtp, swarmDownload, utpDialer, utpSkip } from './helpers.js'

const skip = utpSkip()

for (const name of ['single', 'multi']) {
  test(`BEP 29: our uTP seeder -> our uTP leecher: ${name}.torrent downloaded byte-identical through a Swarm`, { skip }, async (t) => {
    const seed = await seedFixture(name)
    const server = await openTransport()
    const client = await openTransport({ accept: false })
    t.after(async () => { await client.close(); await server.close(); await seed.close() })
    serveOverUtp(server, seed.meta, seed.seeder)
    const { bytes } = await swarmDownload(seed.meta, [{ host: '127.0.0.1', port: server.port }], utpDialer(client, seed.meta))
    assert.equal(createHash('sha1').update(bytes).digest('hex'), createHash('sha1').update(seed.payload).digest('hex'))
    assert.ok(seed.seeder.uploaded >= seed.meta.length, 'every byte came over uTP (the seeder\'s TCP port was never dialed)')
  })
}
