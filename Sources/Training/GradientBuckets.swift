// GradientBuckets: the arena ranges the gradient is reduced in, last layer
// first, each at most 4 MiB (MPICH slows sharply above that, MPI-NOTES.md).
// A layer's buckets are handed to the reduction as soon as backward has
// written that layer, so they travel while earlier layers still compute.
// Small neighbouring layers share a bucket (up to 512 KiB together), started
// with the earliest of them: one message less costs more than the overlap
// of a few hundred kilobytes gains.

import Layers

struct GradientBuckets {
    /// Largest bucket, in floats (4 MiB).
    static let maximumFloats = 1 << 20
    /// Largest group of whole layers that share buckets, in floats (512 KiB).
    static let mergeFloats = 1 << 17

    /// Arena range of every layer's tensors (weight, bias, slopes, padding).
    let layerRanges: [Range<Int>]
    /// Buckets that start when each layer is written: (stable id, arena range);
    /// empty for a layer whose group starts with an earlier one.
    let buckets: [[(id: Int, range: Range<Int>)]]

    init(_ layout: ParameterLayout) {
        let layers = layout.layers
        layerRanges = layers.indices.map { index in
            layers[index].weight..<(index + 1 < layers.count ? layers[index + 1].weight : layout.count)
        }
        var next = 0
        var buckets = Array(repeating: [(id: Int, range: Range<Int>)](), count: layers.count)
        // Groups of consecutive layers, from the last; a group's buckets start
        // when its first layer (the last one backward finishes) is written.
        var index = layers.count - 1
        while index >= 0 {
            var group = layerRanges[index]
            while index > 0, group.count + layerRanges[index - 1].count <= Self.mergeFloats {
                index -= 1
                group = layerRanges[index].lowerBound..<group.upperBound
            }
            var start = group.lowerBound
            while start < group.upperBound {
                let end = min(start + Self.maximumFloats, group.upperBound)
                buckets[index].append((next, start..<end))
                next += 1
                start = end
            }
            index -= 1
        }
        self.buckets = buckets
    }
}
