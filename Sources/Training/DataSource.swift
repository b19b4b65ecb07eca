// DataSource: turns `--dataset` into training and test splits.
//
//   fashion-mnist   Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
//   xor             the four XOR rows (train = test)
//   DIRECTORY       IDX files named like Fashion-MNIST's ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])
//   FILE.csv        a CSV with a header; the test split is --test-data, or the same file
//   FILE.npy        NumPy features (rows, features) with --labels LABELS.npy; the test
//                   split is --test-data / --test-labels, or the same files

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Datasets
import Engine

public enum DataSource {
    /// Loads the training and test splits named by `dataset`.
    public static func load(
        _ dataset: String, labels: String? = nil, testData: String? = nil, testLabels: String? = nil,
        labelColumn: String? = nil, trainLimit: Int? = nil, testLimit: Int? = nil
    ) throws(TrainingError) -> (train: Dataset, test: Dataset) {
        let column: CSVLabelColumn = labelColumn.map { Int($0).map(CSVLabelColumn.index) ?? .named($0) } ?? .automatic
        var (train, test): (Dataset, Dataset)
        do {
            switch dataset {
            case "fashion-mnist":
                (train, test) = try FashionMNIST.load()
            case "xor":
                let xor = xorDataset()
                (train, test) = (xor, xor)
            default:
                if dataset.lowercased().hasSuffix(".npy") || dataset.lowercased().hasSuffix(".npy.gz") {
                    guard let labels else {
                        throw TrainingError.invalidOption("--dataset \(dataset) is a NumPy file; pass its labels with --labels LABELS.npy")
                    }
                    train = try NPYDataset.load(featuresPath: dataset, labelsPath: labels)
                    if let testData {
                        guard let testLabels else {
                            throw TrainingError.invalidOption("--test-data \(testData) is a NumPy file; pass its labels with --test-labels LABELS.npy")
                        }
                        test = try NPYDataset.load(featuresPath: testData, labelsPath: testLabels)
                    } else {
                        test = train
                    }
                } else if dataset.lowercased().hasSuffix(".csv") || dataset.lowercased().hasSuffix(".csv.gz") {
                    train = try CSVDataset.load(path: dataset, labelColumn: column)
                    test = try testData.map { path throws(DatasetError) in try CSVDataset.load(path: path, labelColumn: column) } ?? train
                } else if isDirectory(dataset) {
                    (train, test) = try FashionMNIST.load(directory: dataset)
                } else {
                    throw TrainingError.missingData(
                        "--dataset '\(dataset)': no such file or directory; use fashion-mnist, xor, a directory of IDX files or a .csv file")
                }
            }
        } catch let error as DatasetError {
            switch error {
            case .missingFile, .missingFashionMNIST: throw .missingData(error.description)
            default: throw .dataset(error.description)
            }
        } catch let error as NPYError {
            if case .file(let inner) = error, case .missingFile = inner { throw .missingData(error.description) }
            throw .dataset(error.description)
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .dataset("\(error)")
        }
        if let limit = trainLimit {
            guard limit > 0 else { throw .invalidOption("--train-limit must be positive, got \(limit)") }
            if limit < train.rowCount { train = train.subset(rows: 0..<limit) }
        }
        if let limit = testLimit {
            guard limit > 0 else { throw .invalidOption("--test-limit must be positive, got \(limit)") }
            if limit < test.rowCount { test = test.subset(rows: 0..<limit) }
        }
        return (train, test)
    }

    /// Holds out `fraction` of `train`'s rows for validation, chosen by a
    /// permutation that is a pure function of `seed`; both parts keep file order.
    public static func splitValidation(
        _ train: Dataset, fraction: Double, seed: UInt64
    ) throws(TrainingError) -> (train: Dataset, validation: Dataset?) {
        guard fraction > 0 else { return (train, nil) }
        let held = Int(Double(train.rowCount) * fraction)
        guard held > 0, held < train.rowCount else {
            throw .invalidOption(
                "--validation-split \(fraction) of \(train.rowCount) rows leaves \(held == 0 ? "no validation" : "no training") rows")
        }
        var order = [Int32](repeating: 0, count: train.rowCount)
        order.withUnsafeMutableBufferPointer { CounterRNG(seed: seed).permutation(into: $0, .validationSplit, stream: 0) }
        let validationRows = order[..<held].map(Int.init).sorted()
        let trainingRows = order[held...].map(Int.init).sorted()
        return (
            train.subset(rows: trainingRows, name: train.name),
            train.subset(rows: validationRows, name: "\(train.name) (validation)")
        )
    }

    /// The XOR truth table: inputs (0,0), (0,1), (1,0), (1,1) → 0, 1, 1, 0.
    public static func xorDataset() -> Dataset {
        Dataset(
            name: "xor", featureCount: 2, features: FloatBuffer([0, 0, 0, 1, 1, 0, 1, 1]),
            targets: .classes(labels: [0, 1, 1, 0], classCount: 2))
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }
}
