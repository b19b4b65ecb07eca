// `dptrain predict CHECKPOINT --input ROWS`: the head's outputs for every row, as CSV.

import ArgumentParser
import Datasets
import Engine
import Foundation
import Training

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's outputs for every input row as CSV (probabilities or values, and the class).",
        discussion: """
            Input rows: a .npy file of features (rows, features), or --dataset with the options of \
            `train` (its test split is used). Output: one line per row: row, output_0 … output_k-1, \
            and for softmax and sigmoid heads the predicted class.

            Examples:
              dptrain predict runs/fashion/ckpt-00004680.safetensors --dataset fashion-mnist --output predictions.csv
              dptrain predict model.safetensors --input rows.npy
            """)

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @Option(help: "A .npy file of input rows (rows, features).")
    var input: String?

    @Option(help: "Dataset whose test split is predicted (as in train: fashion-mnist, DIR, FILE.csv, FILE.npy with --labels).")
    var dataset: String?

    @Option(help: "Labels of a NumPy --dataset.")
    var labels: String?

    @Option(name: .shortAndLong, help: "CSV file to write (default: standard output).")
    var output: String?

    @Option(help: "Worker threads.")
    var threads = 1

    func run() throws {
        do {
            let model = try TrainedModel(checkpoint: checkpoint)
            let (features, rows) = try inputRows(width: model.spec.inputWidth)
            let pool = ThreadPool(threadCount: max(1, threads))
            defer { pool.shutdown() }
            let outputs = model.predict(features, rows: rows, pool: pool)
            let k = model.spec.outputWidth
            var text = "row," + (0..<k).map { "output_\($0)" }.joined(separator: ",")
            let classified = model.spec.head != .linear
            if classified { text += ",class" }
            text += "\n"
            for row in 0..<rows {
                let values = outputs[(row * k)..<((row + 1) * k)]
                text += "\(row)," + values.map { "\($0)" }.joined(separator: ",")
                if classified {
                    let predicted = k == 1 ? (values[values.startIndex] > 0.5 ? 1 : 0)
                        : (values.indices.max { values[$0] < values[$1] } ?? values.startIndex) - values.startIndex
                    text += ",\(predicted)"
                }
                text += "\n"
            }
            if let output {
                do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                    throw CommandFailure.data("cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                print(text, terminator: "")
            }
        } catch {
            CommandFailure(error).exit()
        }
    }

    private func inputRows(width: Int) throws -> (FloatBuffer, Int) {
        switch (input, dataset) {
        case (let path?, nil):
            let file: NPYFile
            do { file = try NPYFile(path: path) } catch { throw CommandFailure.data(error.description) }
            guard file.shape.count == 2, file.shape[1] == width else {
                throw CommandFailure.data("\(path): shape \(file.shape), but the model takes rows of \(width) features")
            }
            return (file.floats(), file.shape[0])
        case (nil, let name?):
            let (_, test) = try DataSource.load(name, labels: labels)
            guard test.featureCount == width else {
                throw CommandFailure.data("\(test.name) has \(test.featureCount) features per row, but the model takes \(width)")
            }
            return (test.features, test.rowCount)
        default:
            throw CommandFailure.usage("pass exactly one of --input FILE.npy and --dataset NAME")
        }
    }
}
