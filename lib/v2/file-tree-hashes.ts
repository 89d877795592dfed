/**
 * The part of one file's merkle tree we know from its piece layer: every layer from the piece
 * layer up to the root, built once (about as much memory again as the layer: 32 bytes a piece,
 * halving per layer). Nodes past the end of the file are padding, computed, never stored.
 * This is what a seeder answers BEP 52 hash requests from; leaf hashes are not held (a seeder
 * would have to read and hash the piece), so requests below the piece layer cannot be served.
 */
import { hashPair, padHash, pieceLayerHeight, treeHeight } from './merkle.js'

export class FileTreeHashes {
  /** Layers above the leaves of the file's tree; the root is at this height. */
  readonly height: number
  /** The lowest layer we hold: the piece layer, or the root for a file of one piece or less. */
  readonly lowest: number
  /** `_layers[h - lowest]`: the real (unpadded) nodes of layer h. */
  private readonly _layers: Uint8Array[][]

  /** `pieceLayer`: the file's piece-layer hashes; empty for a file of one piece or less. */
  constructor (root: Uint8Array, fileLength: number, pieceLength: number, pieceLayer: readonly Uint8Array[]) {
    this.height = treeHeight(fileLength)
    if (pieceLayer.length === 0) {
      this.lowest = this.height
      this._layers = [[root]]
      return
    }
    this.lowest = pieceLayerHeight(pieceLength)
    const layers: Uint8Array[][] = [[...pieceLayer]]
    for (let h = this.lowest; h < this.height; h++) {
      const below = layers[layers.length - 1] as Uint8Array[]
      const up: Uint8Array[] = []
      for (let i = 0; i < below.length; i += 2) up.push(hashPair(below[i] as Uint8Array, below[i + 1] ?? padHash(h)))
      layers.push(up)
    }
    this._layers = layers
  }

  get root (): Uint8Array {
    return (this._layers[this._layers.length - 1] as Uint8Array[])[0] as Uint8Array
  }

  /** Node `index` of layer `height`; padding past the file's end; undefined below what we hold. */
  node (height: number, index: number): Uint8Array | undefined {
    if (height < this.lowest || height > this.height || index < 0 || index >= 2 ** (this.height - height)) return undefined
    return (this._layers[height - this.lowest] as Uint8Array[])[index] ?? padHash(height)
  }
}
