// `--dataset` and friends: where the training and test rows come from.

import ArgumentParser
import Datasets
import Training

struct DataOptions: ParsableArguments {
    @Option(help: "fashion-mnist, xor, a directory of IDX files, or a .csv file.")
    var dataset = "fashion-mnist"

    @Option(help: "CSV file of the test split (for a .csv --dataset; default: the training file).")
    var testData: String?

    @Option(help: "Use only the first N training rows.")
    var trainLimit: Int?

    @Option(help: "Use only the first N test rows.")
    var testLimit: Int?

    /// Loads both splits.
    func load() throws(TrainingError) -> (train: Dataset, test: Dataset) {
        try DataSource.load(dataset, testData: testData, trainLimit: trainLimit, testLimit: testLimit)
    }
}
