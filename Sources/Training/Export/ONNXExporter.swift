// ONNXExporter: a trained network as an ONNX model, so it runs in
// onnxruntime and opens in Netron.
//
// The graph, for input `input` float (batch, inputWidth) and output `output`:
//   per Dense layer l:  Z_l = Gemm(A_{l-1}, W_l, b_l)   (W stored (in, out), so transB = 0)
//                       A_l = activation(Z_l)
//   head:               Softmax(axis = 1) | Sigmoid | nothing (linear)
// Activations map to opset-13 operators one to one (Relu, Sigmoid, Tanh,
// LeakyRelu(alpha), PRelu with a slope initializer of shape (out), Elu(alpha),
// Softplus) except GELU, an operator only from opset 20, built as
// 0.5 · x · (1 + Erf(x / √2)), and SiLU, built as x · Sigmoid(x).
// The weights are initializers named as in the checkpoint (`layers.0.weight`).
//
// The protobuf messages and field numbers are those of onnx/onnx.proto
// (IR version 8): ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto.

import Engine
import Layers

/// Builds and writes ONNX models of dptrain networks.
public enum ONNXExporter {
    /// The ONNX IR version written (ONNX 1.10 and later read it).
    public static let irVersion = 8
    /// The version of the default operator set the graph uses.
    public static let opsetVersion = 13

    /// The serialised ModelProto of `spec` with the weights in `parameters`.
    /// - Parameters:
    ///   - parameters: the arena, `layout.count` floats.
    ///   - layout: the arena's layout, which must be `ParameterLayout(spec)`.
    public static func model(spec: ModelSpec, parameters: FloatBuffer, layout: ParameterLayout) -> [UInt8] {
        precondition(layout == ParameterLayout(spec), "ONNXExporter: the layout does not belong to \(spec)")
        precondition(parameters.count == layout.count,
                     "ONNXExporter: arena has \(parameters.count) floats, layout needs \(layout.count)")
        var graph = ONNXGraph()
        var current = "input"
        for (index, layer) in spec.layers.enumerated() {
            let offsets = layout.layers[index]
            let prefix = "layers.\(index)"
            let fanIn = index == 0 ? spec.inputWidth : spec.layers[index - 1].width
            graph.initializer(prefix + ".weight", shape: [fanIn, layer.width], from: parameters, offset: offsets.weight)
            graph.initializer(prefix + ".bias", shape: [layer.width], from: parameters, offset: offsets.bias)
            graph.node("Gemm", name: prefix + ".gemm", inputs: [current, prefix + ".weight", prefix + ".bias"],
                       output: prefix + ".linear")
            current = prefix + ".linear"
            if let slope = offsets.slope {
                graph.initializer(prefix + ".slope", shape: [layer.width], from: parameters, offset: slope)
            }
            current = activation(layer.activation, of: current, prefix: prefix, graph: &graph)
        }
        switch spec.head {
        case .softmax:
            graph.node("Softmax", name: "head.softmax", inputs: [current], output: "head.softmax",
                       attributes: [.integer("axis", 1)])
        case .sigmoid:
            graph.node("Sigmoid", name: "head.sigmoid", inputs: [current], output: "head.sigmoid")
        case .linear:
            break
        }
        if graph.nodes.isEmpty { graph.node("Identity", name: "identity", inputs: [current], output: "identity") }
        graph.nameLastOutput("output")

        return ProtobufEncoder.message { model in
            model.integer(1, irVersion)
            model.string(2, "dptrain")
            model.string(6, "dptrain model \(spec)")
            model.message(7) { encoded in
                graph.encode(into: &encoded, name: "dptrain", inputWidth: spec.inputWidth, outputWidth: spec.outputWidth)
            }
            model.message(8) { opset in
                opset.string(1, "")
                opset.integer(2, opsetVersion)
            }
            model.message(14) { entry in
                entry.string(1, "dptrain.model")
                entry.string(2, spec.description)
            }
        }
    }

    /// Writes the model of `spec` and `parameters` to `path` (a temporary file renamed into place).
    public static func export(
        spec: ModelSpec, parameters: FloatBuffer, layout: ParameterLayout, to path: String
    ) throws(ONNXExportError) {
        let bytes = model(spec: spec, parameters: parameters, layout: layout)
        do {
            try OutputFile.replace(path, with: bytes)
        } catch {
            throw .cannotWrite(path: path, reason: error.reason)
        }
    }

    /// Appends the nodes of `activation` applied to tensor `x` and returns the result's name.
    private static func activation(_ activation: Activation, of x: String, prefix: String, graph: inout ONNXGraph) -> String {
        let y = prefix + ".output"
        switch activation {
        case .identity:
            return x
        case .relu:
            graph.node("Relu", name: prefix + ".relu", inputs: [x], output: y)
        case .sigmoid:
            graph.node("Sigmoid", name: prefix + ".sigmoid", inputs: [x], output: y)
        case .tanh:
            graph.node("Tanh", name: prefix + ".tanh", inputs: [x], output: y)
        case .leakyReLU(let slope):
            graph.node("LeakyRelu", name: prefix + ".leakyrelu", inputs: [x], output: y, attributes: [.float("alpha", slope)])
        case .prelu:
            graph.node("PRelu", name: prefix + ".prelu", inputs: [x, prefix + ".slope"], output: y)
        case .elu(let alpha):
            graph.node("Elu", name: prefix + ".elu", inputs: [x], output: y, attributes: [.float("alpha", alpha)])
        case .softplus:
            graph.node("Softplus", name: prefix + ".softplus", inputs: [x], output: y)
        case .gelu:
            // 0.5 · x · (1 + erf(x · (1/√2))), the exact GELU the engine computes.
            let inverseRoot2 = graph.constant(0.70710678118654752)
            let one = graph.constant(1)
            let half = graph.constant(0.5)
            let name = prefix + ".gelu"
            graph.node("Mul", name: name + ".scale", inputs: [x, inverseRoot2], output: name + ".scaled")
            graph.node("Erf", name: name + ".erf", inputs: [name + ".scaled"], output: name + ".erf")
            graph.node("Add", name: name + ".add", inputs: [name + ".erf", one], output: name + ".cdf2")
            graph.node("Mul", name: name + ".mul", inputs: [x, name + ".cdf2"], output: name + ".twice")
            graph.node("Mul", name: name + ".halve", inputs: [name + ".twice", half], output: y)
        case .silu:
            graph.node("Sigmoid", name: prefix + ".silu.sigmoid", inputs: [x], output: prefix + ".silu.gate")
            graph.node("Mul", name: prefix + ".silu.mul", inputs: [x, prefix + ".silu.gate"], output: y)
        }
        return y
    }
}
