// `dptrain export CHECKPOINT --output model.onnx`: the trained network as ONNX.

import ArgumentParser
import Engine
import Training

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint's network to ONNX (opset 13: Gemm, activations, Softmax/Sigmoid head).",
        discussion: """
            The model runs in onnxruntime and opens in Netron; its input is `input` (batch, features), \
            its output `output` (batch, outputs), after the head.

            Example:
              dptrain export runs/fashion/ckpt-00004680.safetensors --output fashion.onnx
            """)

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @Option(name: .shortAndLong, help: "Where to write the ONNX model.")
    var output = "model.onnx"

    func run() throws {
        do {
            let model = try TrainedModel(checkpoint: checkpoint)
            if model.spec.usesBatchNormalization {
                throw CommandFailure.usage("export of batch-normalized layers to ONNX is not supported yet (\(model.spec))")
            }
            do {
                try ONNXExporter.export(spec: model.spec, parameters: model.parameters, layout: model.network.layout, to: output)
            } catch {
                throw CommandFailure.data(error.description)
            }
            print("exported \(model.spec) to \(output)")
        } catch {
            CommandFailure(error).exit()
        }
    }
}
