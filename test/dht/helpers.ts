import DHT from 'bittorrent-dht'
import { within } from '../wire/helpers.js'

/** A plain bittorrent-dht node on 127.0.0.1 joined through `bootstrap` (none: the first node). */
export async function rawNode (bootstrap: string[]): Promise<DHT> {
  const dht = new DHT({ bootstrap: bootstrap.length === 0 ? false : bootstrap })
  dht.on('error', () => {})
  dht.on('warning', () => {})
  const listening = new Promise<void>((resolve) => { dht.once('listening', resolve) })
  dht.listen(0, '127.0.0.1')
  await within(5000, 'raw DHT node listening', listening)
  await within(5000, 'raw DHT node ready', new Promise<void>((resolve) => { if (dht.ready) resolve(); else dht.once('ready', resolve) }))
  return dht
}

/** Three plain nodes that know each other: a private DHT on loopback. */
export async function privateDht (): Promise<{ nodes: DHT[], addrs: string[], close: () => Promise<void> }> {
  const first = await rawNode([])
  const a0 = `127.0.0.1:${first.address().port}`
  const nodes = [first, await rawNode([a0]), await rawNode([a0])]
  const addrs = nodes.map(n => `127.0.0.1:${n.address().port}`)
  return { nodes, addrs, close: () => Promise.all(nodes.map(n => new Promise<void>((resolve) => { n.destroy(() => resolve()) }))).then(() => {}) }
}
