// ONNXGraph: the nodes and initializers of an ONNX GraphProto under
// construction, and their protobuf encoding (field numbers of onnx/onnx.proto).

import Engine

/// A graph being built by ONNXExporter.
struct ONNXGraph {
    /// A node attribute (AttributeProto): name = 1, f = 2, i = 3, type = 20 (FLOAT 1, INT 2).
    enum Attribute {
        case float(String, Float)
        case integer(String, Int)
    }

    /// A node (NodeProto): input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
    struct Node {
        let operatorType: String
        let name: String
        let inputs: [String]
        var output: String
        let attributes: [Attribute]
    }

    private(set) var nodes: [Node] = []
    /// Encoded TensorProtos.
    private var initializers: [[UInt8]] = []
    private var constants: [Float: String] = [:]

    mutating func node(_ operatorType: String, name: String, inputs: [String], output: String, attributes: [Attribute] = []) {
        nodes.append(Node(operatorType: operatorType, name: name, inputs: inputs, output: output, attributes: attributes))
    }

    /// Renames the last node's output (the graph's result, which no node reads).
    mutating func nameLastOutput(_ name: String) {
        precondition(!nodes.isEmpty, "ONNXGraph: no node to name the output of")
        nodes[nodes.count - 1].output = name
    }

    /// A float32 initializer (TensorProto: dims = 1, data_type = 2 (FLOAT = 1), name = 8, raw_data = 9)
    /// holding `shape`'s element count of floats from `buffer` at `offset`.
    mutating func initializer(_ name: String, shape: [Int], from buffer: FloatBuffer, offset: Int) {
        let count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= buffer.count, "ONNXGraph: \(name) lies outside the arena")
        // raw_data is little-endian, like the arena on every platform we build for.
        let raw = Array(UnsafeRawBufferPointer(start: buffer.pointer + offset, count: count * MemoryLayout<Float>.stride))
        initializers.append(ProtobufEncoder.message { tensor in
            tensor.packedIntegers(1, shape)
            tensor.integer(2, 1)
            tensor.string(8, name)
            tensor.bytes(9, raw)
        })
    }

    /// The name of a scalar float initializer holding `value`, added on first use.
    mutating func constant(_ value: Float) -> String {
        if let name = constants[value] { return name }
        let name = "constant.\(value)"
        let buffer = FloatBuffer([value])
        initializer(name, shape: [], from: buffer, offset: 0)
        constants[value] = name
        return name
    }

    /// Encodes the GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
    func encode(into graph: inout ProtobufEncoder, name: String, inputWidth: Int, outputWidth: Int) {
        for node in nodes {
            graph.message(1) { encoded in
                for input in node.inputs { encoded.string(1, input) }
                encoded.string(2, node.output)
                encoded.string(3, node.name)
                encoded.string(4, node.operatorType)
                for attribute in node.attributes {
                    encoded.message(5) { attributeMessage in
                        switch attribute {
                        case .float(let name, let value):
                            attributeMessage.string(1, name)
                            attributeMessage.float(2, value)
                            attributeMessage.integer(20, 1)
                        case .integer(let name, let value):
                            attributeMessage.string(1, name)
                            attributeMessage.integer(3, value)
                            attributeMessage.integer(20, 2)
                        }
                    }
                }
            }
        }
        graph.string(2, name)
        for initializer in initializers { graph.bytes(5, initializer) }
        graph.message(11) { ONNXGraph.encodeBatchOfRows(into: &$0, name: "input", width: inputWidth) }
        graph.message(12) { ONNXGraph.encodeBatchOfRows(into: &$0, name: "output", width: outputWidth) }
    }

    /// A ValueInfoProto (name = 1, type = 2) of a float tensor (batch, width):
    /// TypeProto.tensor_type = 1 { elem_type = 1 (FLOAT), shape = 2 { dim = 1 { dim_param = 2 | dim_value = 1 } } }.
    private static func encodeBatchOfRows(into value: inout ProtobufEncoder, name: String, width: Int) {
        value.string(1, name)
        value.message(2) { type in
            type.message(1) { tensor in
                tensor.integer(1, 1)
                tensor.message(2) { shape in
                    shape.message(1) { $0.string(2, "batch") }
                    shape.message(1) { $0.integer(1, width) }
                }
            }
        }
    }
}
