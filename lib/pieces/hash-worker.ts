/**
 * A piece's digest on the helper thread (lib/util/helper-worker.ts runs it): the piece's memory
 * was transferred there (no copy) and goes back with its digest (no copy either). A v1 piece's
 * digest is its SHA-1 (BEP 3); with `merkleHeight`, a v2 piece's is the root of its 16 KiB
 * blocks' SHA-256 tree (BEP 52).
 */
import { createHash } from 'node:crypto'
import { pieceRoot } from '../v2/merkle.js'

export interface HashJob {
  readonly id: number
  readonly buffer: ArrayBuffer
  /** BEP 52: hash the piece as a merkle subtree of this height (lib/v2/merkle.ts pieceRoot). */
  readonly merkleHeight?: number
}

export interface HashResult {
  readonly id: number
  readonly buffer: ArrayBuffer
  readonly digest: Uint8Array
}

/** The digest a job asks for, on whichever thread runs it. */
export function digestOf (data: Uint8Array, merkleHeight: number | undefined): Uint8Array {
  return merkleHeight === undefined ? createHash('sha1').update(data).digest() : pieceRoot(data, merkleHeight)
}

/** The thread's side of one job: the digest, and the same memory to send back. */
export function hashJob (job: HashJob): HashResult {
  return { id: job.id, buffer: job.buffer, digest: digestOf(new Uint8Array(job.buffer), job.merkleHeight) }
}
