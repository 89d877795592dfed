/**
 * Worker entry for test/bencode/isolated.ts: imports one module and runs its exports on request.
 * `{ id, fn, args }` in, `{ id, value }` or `{ id, error: { name, message } }` out.
 */
import { parentPort, workerData } from 'node:worker_threads'

interface Call { readonly id: number, readonly fn: string, readonly args: unknown[] }

// Outside a worker (a test runner globbing every file) there is nothing to do.
if (parentPort !== null) {
  const port = parentPort
  const mod = await import((workerData as { module: string }).module) as Record<string, unknown>
  port.on('message', (call: Call) => {
    const f = mod[call.fn]
    const run = async (): Promise<unknown> => {
      if (typeof f !== 'function') throw new TypeError(`${call.fn} is not an export of the isolated module`)
      return await (f as (...a: unknown[]) => unknown)(...call.args)
    }
    run().then(
      value => port.postMessage({ id: call.id, value }),
      (err: unknown) => port.postMessage({ id: call.id, error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } })
    )
  })
  port.postMessage({ ready: true })
}
