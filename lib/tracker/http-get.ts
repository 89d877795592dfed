import http from 'node:http'
import https from 'node:https'
import { TrackerError } from '../util/errors.js'

export interface HttpGetOptions {
  /** One deadline for the whole exchange, redirects included. */
  readonly timeoutMs: number
  /** Bodies are counted while they stream in and the request is aborted past this. */
  readonly maxBytes: number
  readonly maxRedirects: number
  readonly signal: AbortSignal
}

export interface HttpGetResult {
  readonly status: number
  readonly contentType: string
  readonly body: Uint8Array
}

/**
 * A bounded GET for tracker announces: follows up to `maxRedirects` redirects (http and https
 * only, a repeated URL is a loop), never waits past `timeoutMs`, never holds more than `maxBytes`.
 * Failures reject with a TrackerError whose message is the reason alone (the caller adds the URL).
 */
export async function httpGet (url: string, opts: HttpGetOptions): Promise<HttpGetResult> {
  const deadline = AbortSignal.timeout(opts.timeoutMs)
  const signal = AbortSignal.any([opts.signal, deadline])
  const seen = new Set<string>()
  let current = url
  for (let hops = 0; ; hops++) {
    seen.add(current)
    const res = await getOnce(current, opts.maxBytes, signal, deadline, opts.timeoutMs)
    if (res.location === undefined) return res
    let next: string
    try {
      next = new URL(res.location, current).href
    } catch {
      throw new TrackerError(`redirect to an invalid URL "${res.location.slice(0, 100)}"`)
    }
    if (!/^https?:$/.test(new URL(next).protocol)) throw new TrackerError(`redirect to unsupported URL ${next}`)
    if (seen.has(next)) throw new TrackerError(`redirect loop (${hops + 1} redirects, back to ${next})`)
    if (hops + 1 > opts.maxRedirects) throw new TrackerError(`too many redirects (more than ${opts.maxRedirects})`)
    current = next
  }
}

interface Once extends HttpGetResult { readonly location?: string }

function getOnce (url: string, maxBytes: number, signal: AbortSignal, deadline: AbortSignal, timeoutMs: number): Promise<Once> {
  return new Promise((resolve, reject) => {
    const reasonOf = (err: unknown): TrackerError => {
      if (deadline.aborted) return new TrackerError(`timed out after ${timeoutMs} ms`)
      if (signal.aborted) return new TrackerError('aborted')
      const e = err as NodeJS.ErrnoException
      return new TrackerError(e.code !== undefined ? `${e.code} ${e.message}` : e.message, { cause: err })
    }
    if (signal.aborted) { reject(reasonOf(undefined)); return }
    const get = new URL(url).protocol === 'https:' ? https.get : http.get
    // agent: false: a fresh connection per announce, so no pooled socket outlives the announcer.
    const req = get(url, { agent: false, signal, headers: { 'accept-encoding': 'identity', 'user-agent': 'bt-stream' } }, res => {
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume()
        resolve({ status, contentType: '', body: new Uint8Array(0), location })
        return
      }
      const declared = Number(res.headers['content-length'])
      if (declared > maxBytes) {
        req.destroy()
        reject(new TrackerError(`response too large (Content-Length ${declared}, limit ${maxBytes} bytes)`))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBytes) {
          req.destroy()
          reject(new TrackerError(`response too large (over ${maxBytes} bytes)`))
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => {
        resolve({ status, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) })
      })
      res.on('error', err => reject(reasonOf(err)))
      res.on('close', () => { if (!res.complete) reject(new TrackerError('connection closed mid-response')) })
    })
    req.on('error', err => reject(reasonOf(err)))
  })
}
