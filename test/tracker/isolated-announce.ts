/**
 * What test/tracker/hostile-answers.test.ts runs inside a heap-limited worker (test/bencode/
 * isolated.ts): one HTTP announce, its outcome as plain data.
 */
import { HttpTracker } from '../../lib/tracker/http-tracker.js'
import { NEVER, request } from './helpers.js'

export async function httpAnnounce (url: string): Promise<{ peers: number, warnings: string[] }> {
  const res = await new HttpTracker(url, { timeoutMs: 5000 }).announce(request(), NEVER)
  return { peers: res.peers.length, warnings: res.warnings }
}

/** Proof of life: the worker still runs code after the hostile answer. */
export function alive (): string {
  return 'alive'
}
