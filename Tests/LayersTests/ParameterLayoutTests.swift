// ParameterLayout: every tensor of the arena in order, 64-byte aligned and
// non-overlapping, and agreeing with the per-layer offsets; batch-norm γ and β
// inside their layer's range; the running statistics in a layout of their own.

import Engine
import Layers
import Testing

@Suite("ParameterLayout")
struct ParameterLayoutTests {
    @Test("tensors are named, shaped and ordered per layer: weight, bias, slope")
    func tensorsAreNamedAndShaped() throws {
        let layout = ParameterLayout(try ModelSpec(parsing: "5-3:prelu-7:tanh-1:sigmoid"))
        #expect(layout.tensors.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.0.slope", "layers.1.weight", "layers.1.bias",
            "layers.2.weight", "layers.2.bias",
        ])
        #expect(layout.tensors.map(\.shape) == [[5, 3], [3], [3], [3, 7], [7], [7, 1], [1]])
        #expect(layout.tensors.map(\.role) == [.weight, .bias, .slope, .weight, .bias, .weight, .bias])
        #expect(layout.layers.map(\.slope).map { $0 == nil } == [false, true, true])
    }

    @Test("offsets are 64-byte aligned, tensors do not overlap and fit the arena", arguments: [
        "5-3:prelu-7:tanh-1:sigmoid", "784-256:relu-128:prelu-10:softmax", "1-1", "17-33:prelu-15:prelu-16:linear",
        "17-33:prelu:bn-15:relu:bn:dropout(0.5)-16:linear",
    ])
    func offsetsAreAlignedAndDisjoint(text: String) throws {
        let spec = try ModelSpec(parsing: text)
        let layout = ParameterLayout(spec)
        let arena = FloatBuffer(count: layout.count)
        let base = UInt(bitPattern: arena.pointer)
        for tensor in layout.tensors {
            #expect((base + UInt(tensor.offset * MemoryLayout<Float>.stride)) % 64 == 0, "\(tensor.name)")
        }
        let sorted = layout.tensors.sorted { $0.offset < $1.offset }
        for (current, next) in zip(sorted, sorted.dropFirst()) {
            #expect(current.offset + current.count <= next.offset, "\(current.name) runs into \(next.name)")
        }
        let last = try #require(sorted.last)
        #expect(last.offset + last.count <= layout.count)
        // The per-layer offsets are the tensors' offsets.
        let byName = Dictionary(uniqueKeysWithValues: layout.tensors.map { ($0.name, $0.offset) })
        for (index, offsets) in layout.layers.enumerated() {
            #expect(offsets.weight == byName["layers.\(index).weight"])
            #expect(offsets.bias == byName["layers.\(index).bias"])
            #expect(offsets.slope == byName["layers.\(index).slope"])
            #expect(offsets.normalization?.scale == byName["layers.\(index).norm_scale"])
            #expect(offsets.normalization?.shift == byName["layers.\(index).norm_shift"])
        }
        // Padding is the only slack: at most 15 floats per tensor.
        let used = layout.tensors.reduce(0) { $0 + $1.count }
        #expect(layout.count - used < 16 * layout.tensors.count)
        #expect(Network(spec).parameterCount == layout.count)
    }

    @Test("a batch-normalized layer adds γ and β after its other tensors, inside its arena range")
    func normalizationTensors() throws {
        let spec = try ModelSpec(parsing: "5-3:prelu:bn:dropout(0.2)-7:tanh:bn(0.3)-1:sigmoid")
        let layout = ParameterLayout(spec)
        #expect(layout.tensors.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.0.slope", "layers.0.norm_scale", "layers.0.norm_shift",
            "layers.1.weight", "layers.1.bias", "layers.1.norm_scale", "layers.1.norm_shift",
            "layers.2.weight", "layers.2.bias",
        ])
        #expect(layout.tensors.map(\.role) == [
            .weight, .bias, .slope, .normalizationScale, .normalizationShift,
            .weight, .bias, .normalizationScale, .normalizationShift, .weight, .bias,
        ])
        #expect(layout.tensors.map(\.shape) == [[5, 3], [3], [3], [3], [3], [3, 7], [7], [7], [7], [7, 1], [1]])
        #expect(layout.layers.map { $0.normalization == nil } == [false, false, true])
        // Each layer's tensors lie between its weight and the next layer's weight.
        for tensor in layout.tensors {
            let layer = Int(tensor.name.split(separator: ".")[1])!
            let end = layer + 1 < layout.layers.count ? layout.layers[layer + 1].weight : layout.count
            #expect(tensor.offset >= layout.layers[layer].weight && tensor.offset + tensor.count <= end, "\(tensor.name)")
        }
        // Dropout adds no parameters.
        #expect(ParameterLayout(try ModelSpec(parsing: "5-3:prelu:dropout(0.2)-1:sigmoid"))
            == ParameterLayout(try ModelSpec(parsing: "5-3:prelu-1:sigmoid")))
        // Only weights are decayed by default.
        #expect(layout.tensors.filter(\.role.isDecayedByDefault).map(\.name) == ["layers.0.weight", "layers.1.weight", "layers.2.weight"])
    }

    @Test("running statistics have their own aligned layout: mean then variance per batch-normalized layer")
    func statisticsLayout() throws {
        let spec = try ModelSpec(parsing: "5-3:relu:bn-20:tanh-17:elu:bn(0.2)-2:linear")
        let layout = StatisticsLayout(spec)
        #expect(layout.tensors.map(\.name) == [
            "layers.0.running_mean", "layers.0.running_var", "layers.2.running_mean", "layers.2.running_var",
        ])
        #expect(layout.tensors.map(\.role) == [.runningMean, .runningVariance, .runningMean, .runningVariance])
        #expect(layout.tensors.map(\.shape) == [[3], [3], [17], [17]])
        #expect(layout.tensors.map(\.offset) == [0, 16, 32, 64])
        #expect(layout.count == 96)
        #expect(layout.layers.map { $0?.mean } == [0, nil, 32, nil])
        #expect(layout.layers.map { $0?.variance } == [16, nil, 64, nil])
        #expect(Network(spec).statisticsCount == 96)
        let plain = StatisticsLayout(try ModelSpec(parsing: "5-3:relu:dropout(0.1)-2:linear"))
        #expect(plain.count == 0 && plain.tensors.isEmpty && plain.layers.allSatisfy { $0 == nil })
    }
}
