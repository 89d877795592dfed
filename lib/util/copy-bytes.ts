/**
 * A copy of `bytes[from, to)` in memory of its own. Not `bytes.slice()`: on a Buffer (what sockets
 * and most of Node hand out) `slice` is a view that shares the memory, the one thing a copy must
 * not do.
 */
export function copyBytes (bytes: Uint8Array, from = 0, to = bytes.byteLength): Uint8Array<ArrayBuffer> {
  // slice always makes a new ArrayBuffer (never a SharedArrayBuffer), whatever `bytes` views.
  return Uint8Array.prototype.slice.call(bytes, from, to) as Uint8Array<ArrayBuffer>
}

/**
 * Writes `source` into `target` at `at`. To or from shared memory (the engine's piece buffers),
 * V8's TypedArray `set` copies with relaxed atomics, byte by byte when the two are not aligned
 * alike, and a block in a socket read never is (it follows a 13-byte header): 0.46 s of the main
 * thread per GiB, against ~0.1 for memcpy. Node's Buffer `fill` with a Uint8Array value is a
 * memcpy in C++: over a range exactly as long as the value, it is one copy of it.
 */
export function copyInto (target: Uint8Array, source: Uint8Array, at: number): void {
  if (source.byteLength === 0) return
  if (target.buffer instanceof SharedArrayBuffer || source.buffer instanceof SharedArrayBuffer) {
    Buffer.prototype.fill.call(target, source, at, at + source.byteLength)
  } else {
    target.set(source, at)
  }
}
