// ParameterLayout: every tensor of the arena in order, 64-byte aligned and
// non-overlapping, and agreeing with the per-layer offsets.

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
        }
        // Padding is the only slack: at most 15 floats per tensor.
        let used = layout.tensors.reduce(0) { $0 + $1.count }
        #expect(layout.count - used < 16 * layout.tensors.count)
        #expect(Network(spec).parameterCount == layout.count)
    }
}
