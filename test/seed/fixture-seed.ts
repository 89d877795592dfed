import { readFileSync } from 'node:fs'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { PeerListener } from '../../lib/seed/listener.js'
import { Seeder, type SeederOptions } from '../../lib/seed/seeder.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { fixture, FIXTURES } from '../helpers.js'
import { MemoryReader } from './helpers.js'

/** A fixture torrent's payload as one byte stream (its files concatenated, BEP 3). */
export function fixturePayload (meta: Metainfo): Uint8Array {
  const out = new Uint8Array(meta.length)
  for (const f of meta.files) {
    if (f.length === 0 || f.padding) continue
    out.set(readFileSync(new URL(`data/${f.path}`, FIXTURES)), f.offset)
  }
  return out
}

export interface FixtureSeed {
  readonly meta: Metainfo
  readonly torrent: Buffer
  readonly payload: Uint8Array
  readonly reader: MemoryReader
  readonly listener: PeerListener
  readonly seeder: Seeder
  readonly port: number
  close (): Promise<void>
}

/** A Seeder on 127.0.0.1 serving a fixture from memory. */
export async function seedFixture (name: string, extra: Partial<SeederOptions> = {}): Promise<FixtureSeed> {
  const torrent = fixture(`${name}.torrent`)
  const meta = parseTorrent(torrent)
  const payload = fixturePayload(meta)
  const reader = new MemoryReader(payload, meta.pieceLength)
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta, reader, have: BitField.full(meta.pieceCount), listener, ...extra })
  seeder.start()
  return {
    meta,
    torrent,
    payload,
    reader,
    listener,
    seeder,
    port,
    close: async () => { await seeder.close(); await listener.close() }
  }
}
