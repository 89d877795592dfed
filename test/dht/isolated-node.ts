/**
 * What test/dht/hostile-datagrams.test.ts runs inside a heap-limited worker (test/bencode/
 * isolated.ts): one DhtNode of ours, driven by calls from the test.
 */
import { DhtNode } from '../../lib/dht/dht-node.js'
import type { DroppedDatagrams } from '../../lib/dht/screened-socket.js'

let node: DhtNode | undefined

/** Starts our node on 127.0.0.1, joined through `bootstrap`; resolves with its UDP port. */
export async function start (bootstrap: string[]): Promise<number> {
  node = await DhtNode.start({ bootstrap, bindAddress: '127.0.0.1', queryTimeout: 10_000 })
  return node.port
}

export function dropped (): DroppedDatagrams | undefined {
  return node?.droppedDatagrams
}

export async function stop (): Promise<void> {
  await node?.destroy()
}
