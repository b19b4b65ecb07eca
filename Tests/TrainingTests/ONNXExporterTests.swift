// Tests of the ONNX export: for a network with every activation and every
// head, onnxruntime (PyPI) must give the outputs our inference gives, to
// 1e-5, after onnx.checker.check_model accepts the file (with shape
// inference); the batch dimension stays symbolic.

import Engine
import Foundation
import Layers
import Testing
import Training

@Suite struct ONNXExporterTests {
    static let rows = 8

    /// Our prediction for `input` (rows, inputWidth): inference, then the head (softmax in Double, sigmoid).
    static func predict(_ network: Network, _ parameters: FloatBuffer, _ input: FloatBuffer) -> [Float] {
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let workspace = Workspace(network: network, rows: rows)
        let logits = network.infer(Matrix(input, rows: rows, columns: network.spec.inputWidth),
                                   parameters: parameters, workspace: workspace, pool: pool)
        var output: [Float] = []
        for row in 0..<rows {
            let z = (0..<logits.columns).map { Double(logits[row, $0]) }
            switch network.spec.head {
            case .softmax:
                let top = z.max() ?? 0
                let total = z.reduce(0) { $0 + exp($1 - top) }
                output += z.map { Float(exp($0 - top) / total) }
            case .sigmoid:
                output += z.map { Float(1 / (1 + exp(-$0))) }
            case .linear:
                output += z.map(Float.init)
            }
        }
        return output
    }

    /// A randomly initialised network with random biases and distinct PReLU slopes per neuron.
    static func randomNetwork(_ text: String, seed: UInt64) throws -> (Network, FloatBuffer) {
        let network = Network(try ModelSpec(parsing: text))
        let parameters = FloatBuffer(count: network.parameterCount)
        let rng = CounterRNG(seed: seed)
        network.initialize(parameters, rng: rng)
        for tensor in network.layout.tensors where tensor.role != .weight {
            for index in 0..<tensor.count {
                let draw = rng.uniform(.syntheticData, stream: 1, index: UInt64(tensor.offset + index))
                parameters[tensor.offset + index] = tensor.role == .slope ? 0.5 * draw : draw - 0.5
            }
        }
        return (network, parameters)
    }

    static let runner = """
        import sys, numpy as np, onnx, onnxruntime as ort
        path, x_path, out_path, rows, width = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        x = np.fromfile(x_path, dtype="<f4").reshape(rows, width)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": x})[0]
        part = session.run(None, {"input": x[:3]})[0]
        assert np.allclose(part, out[:3], rtol=0, atol=1e-6), "a smaller batch gives other rows"
        out.astype("<f4").tofile(out_path)
        print(" ".join(node.op_type for node in model.graph.node))
        print([(i.name, i.shape) for i in session.get_inputs()], [(o.name, o.shape) for o in session.get_outputs()])
        print(model.ir_version, [(o.domain, o.version) for o in model.opset_import], model.producer_name)
        """

    @Test(arguments: [
        "5-7:relu-4:relu-3:softmax",
        "5-7:sigmoid-4:sigmoid-3:softmax",
        "5-7:tanh-4:tanh-3:softmax",
        "5-7:leakyrelu(0.1)-4:leakyrelu(0.02)-3:softmax",
        "5-7:prelu(0.25)-4:prelu(0.1)-3:softmax",
        "5-7:elu(1.0)-4:elu(0.5)-3:softmax",
        "5-7:softplus-4:softplus-3:softmax",
        "5-7:gelu-4:gelu-3:softmax",
        "5-7:silu-4:silu-3:softmax",
        "5-7:linear-4:relu-3:softmax",
        "5-6:tanh-4:sigmoid",
        "5-7:gelu-6:prelu(0.2)-2:linear",
        "5-3:softmax",
    ])
    func onnxruntimeAgreesWithOurInference(text: String) throws {
        let (network, parameters) = try Self.randomNetwork(text, seed: 11)
        let width = network.spec.inputWidth
        let rng = CounterRNG(seed: 5)
        let input = FloatBuffer((0..<(Self.rows * width)).map { 2 * rng.normal(.syntheticData, stream: 2, index: UInt64($0)) })
        let expected = Self.predict(network, parameters, input)

        let directory = try ScratchDirectory()
        let modelPath = directory.path + "/model.onnx"
        try ONNXExporter.export(spec: network.spec, parameters: parameters, layout: network.layout, to: modelPath)
        let inputPath = directory.path + "/x.f4"
        let outputPath = directory.path + "/y.f4"
        try input.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: inputPath)) }

        let result = try Python.run(Self.runner, arguments: [modelPath, inputPath, outputPath, "\(Self.rows)", "\(width)"])
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let k = network.spec.outputWidth
        #expect(lines.dropFirst().first == "[('input', ['batch', \(width)])] [('output', ['batch', \(k)])]")
        #expect(lines.dropFirst(2).first == "8 [('', 13)] dptrain")

        let data = try Data(contentsOf: URL(fileURLWithPath: outputPath))
        let actual = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        try #require(actual.count == expected.count)
        for (index, (ours, theirs)) in zip(expected, actual).enumerated() {
            #expect(abs(ours - theirs) <= 1e-5 * max(1, abs(ours)),
                    "row \(index / k), output \(index % k): ours \(ours), onnxruntime \(theirs) (\(lines.first ?? ""))")
        }
    }

    @Test func graphUsesGemmAndOneNodeChainPerActivation() throws {
        let (network, parameters) = try Self.randomNetwork("5-7:gelu-4:silu-3:prelu(0.3)-2:softmax", seed: 2)
        let directory = try ScratchDirectory()
        let modelPath = directory.path + "/model.onnx"
        try ONNXExporter.export(spec: network.spec, parameters: parameters, layout: network.layout, to: modelPath)
        let script = """
            import sys, onnx
            model = onnx.load(sys.argv[1])
            graph = model.graph
            print(" ".join(node.op_type for node in graph.node))
            print(" ".join(f"{t.name}{list(t.dims)}" for t in graph.initializer))
            print(graph.node[-1].output[0], dict((p.key, p.value) for p in model.metadata_props))
            print(onnx.helper.get_attribute_value(graph.node[-1].attribute[0]))
            """
        let result = try Python.run(script, arguments: [modelPath])
        try #require(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == [
            "Gemm Mul Erf Add Mul Mul Gemm Sigmoid Mul Gemm PRelu Gemm Softmax",
            "layers.0.weight[5, 7] layers.0.bias[7] constant.0.70710677[] constant.1.0[] constant.0.5[] "
                + "layers.1.weight[7, 4] layers.1.bias[4] layers.2.weight[4, 3] layers.2.bias[3] layers.2.slope[3] "
                + "layers.3.weight[3, 2] layers.3.bias[2]",
            "output {'dptrain.model': '5-7:gelu-4:silu-3:prelu(0.3)-2:softmax'}",
            "1",
        ])
    }

    @Test func unwritablePathIsATypedError() throws {
        let (network, parameters) = try Self.randomNetwork("2-2:softmax", seed: 1)
        let path = "/nonexistent-dir/model.onnx"
        #expect(throws: ONNXExportError.cannotWrite(path: path, reason: "No such file or directory")) {
            try ONNXExporter.export(spec: network.spec, parameters: parameters, layout: network.layout, to: path)
        }
        #expect(ONNXExportError.cannotWrite(path: path, reason: "No such file or directory").description
            == "/nonexistent-dir/model.onnx: cannot write the ONNX model (No such file or directory); "
            + "check the directory exists and is writable")
    }
}
