// GradientBuckets: the arena ranges the gradient is reduced in, last layer
// first, each at most 4 MiB (MPICH slows sharply above that, MPI-NOTES.md).
// A layer's buckets are handed to the reduction as soon as backward has
// written that layer, so they travel while earlier layers still compute.

import Layers

struct GradientBuckets {
    /// Largest bucket, in floats (4 MiB).
    static let maximumFloats = 1 << 20

    /// Arena range of every layer's tensors (weight, bias, slopes, padding).
    let layerRanges: [Range<Int>]
    /// Buckets of every layer: (stable id, arena range).
    let buckets: [[(id: Int, range: Range<Int>)]]

    init(_ layout: ParameterLayout) {
        let layers = layout.layers
        layerRanges = layers.indices.map { index in
            layers[index].weight..<(index + 1 < layers.count ? layers[index + 1].weight : layout.count)
        }
        var next = 0
        var buckets = Array(repeating: [(id: Int, range: Range<Int>)](), count: layers.count)
        for index in layers.indices.reversed() {
            let range = layerRanges[index]
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(start + Self.maximumFloats, range.upperBound)
                buckets[index].append((next, start..<end))
                next += 1
                start = end
            }
        }
        self.buckets = buckets
    }
}
