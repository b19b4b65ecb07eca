// `--dataset` and friends: where the training and test rows come from.

import ArgumentParser
import Datasets
import Training

struct DataOptions: ParsableArguments {
    @Option(help: "fashion-mnist, xor, a directory of IDX files, a .csv file, or a .npy file (with --labels).")
    var dataset = "fashion-mnist"

    @Option(help: "CSV label column, by header name or 0-based index (default: the column named 'label', else the last).")
    var labelColumn: String?

    @Option(help: "Labels of a NumPy --dataset (a .npy of class indices or target values).")
    var labels: String?

    @Option(help: "Test split: a CSV or NumPy file (default: the training file).")
    var testData: String?

    @Option(help: "Labels of a NumPy --test-data.")
    var testLabels: String?

    @Flag(help: "Standardise every feature with the training rows' mean and standard deviation (saved in checkpoints, reapplied by evaluate and predict).")
    var standardize = false

    @Option(help: "Use only the first N training rows.")
    var trainLimit: Int?

    @Option(help: "Use only the first N test rows.")
    var testLimit: Int?

    /// Loads both splits.
    func load() throws(TrainingError) -> (train: Dataset, test: Dataset) {
        try DataSource.load(
            dataset, labels: labels, testData: testData, testLabels: testLabels, labelColumn: labelColumn,
            trainLimit: trainLimit, testLimit: testLimit)
    }
}
