// `dptrain evaluate CHECKPOINT`: loss, accuracy, confusion matrix and per-class figures.

import ArgumentParser
import Datasets
import Engine
import Training

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint on a dataset's test split: loss, accuracy, confusion matrix, precision/recall.",
        discussion: """
            Example:
              dptrain evaluate runs/fashion/ckpt-00004680.safetensors --dataset fashion-mnist
            """)

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @Option(help: "Dataset whose test split is evaluated (as in train).")
    var dataset = "fashion-mnist"

    @Option(help: "Labels of a NumPy --dataset.")
    var labels: String?

    @Option(help: "Worker threads.")
    var threads = 1

    func run() throws {
        do {
            let model = try TrainedModel(checkpoint: checkpoint)
            let loss = model.config?.loss ?? model.spec.head.defaultLoss
            let (_, test) = try DataSource.load(dataset, labels: labels)
            let pool = ThreadPool(threadCount: max(1, threads))
            defer { pool.shutdown() }
            let result = try model.evaluate(test, loss: loss, pool: pool)
            print("\(checkpoint) on \(test.name) (\(test.rowCount) rows)")
            print("loss \(fixed(result.loss, 6))" + (result.accuracy.map { "  accuracy \(percent($0))" } ?? ""))
            guard let metrics = result.classification else { return }
            let k = metrics.confusion.count
            let names = dataset == "fashion-mnist" ? FashionMNIST.classNames : (0..<k).map(String.init)
            print("confusion matrix (rows: true class, columns: predicted)")
            for (row, counts) in metrics.confusion.enumerated() {
                let name = row < names.count ? names[row] : "\(row)"
                print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + counts.map { String($0).leftPadded(6) }.joined())
            }
            print("class         precision  recall")
            for row in 0..<k {
                let name = row < names.count ? names[row] : "\(row)"
                let precision = metrics.precision(of: row).map { percent($0) } ?? "-"
                let recall = metrics.recall(of: row).map { percent($0) } ?? "-"
                print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + precision.leftPadded(9) + recall.leftPadded(8))
            }
        } catch {
            CommandFailure(error).exit()
        }
    }
}

extension String {
    /// The string right-aligned in `width` characters.
    func leftPadded(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}
