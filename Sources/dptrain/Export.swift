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
            if model.standardization != nil {
                throw CommandFailure.usage("export of a model trained with --standardize is not supported yet: the ONNX graph would lack the input scaling")
            }
            // Batch norm in inference is affine: it is folded into the Gemm before export.
            let (spec, parameters, layout) = model.foldingBatchNormalization()
            do {
                try ONNXExporter.export(spec: spec, parameters: parameters, layout: layout, to: output)
            } catch {
                throw CommandFailure.data(error.description)
            }
            print("exported \(model.spec) to \(output)")
        } catch {
            CommandFailure(error).exit()
        }
    }
}
