// Tests of the Fashion-MNIST loader: the installed Debian files, the choice
// between plain and gzip files, and the message when the files are missing.

import Datasets
import Engine
import Foundation
import Testing

@Suite struct FashionMNISTTests {
    static let installed = FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)

    @Test(.enabled(if: installed,
                   "Fashion-MNIST is not in /usr/share/datasets/fashion-mnist; apt-get install -y dataset-fashion-mnist"))
    func installedFilesLoadWithTheKnownShape() throws {
        let (train, test) = try FashionMNIST.load()
        #expect(train.rowCount == 60_000)
        #expect(test.rowCount == 10_000)
        #expect(train.featureCount == 784)
        #expect(test.featureCount == 784)
        #expect(train.name == "fashion-mnist/train")
        guard case .classes(let labels, let classCount) = train.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(classCount == 10)
        #expect(labels.first == 9)  // The first training image is an ankle boot.
        #expect(labels.reduce(into: [Int32: Int]()) { $0[$1, default: 0] += 1 }.values.allSatisfy { $0 == 6000 })
        for dataset in [train, test] {
            let pixels = UnsafeBufferPointer(start: dataset.features.pointer, count: dataset.features.count)
            #expect(pixels.min() == 0)
            #expect(pixels.max() == 1)
        }
    }

    @Test func plainAndGzipFilesMayBeMixed() throws {
        let directory = try TemporaryDirectory()
        let images = idxUInt8(dimensions: [2, 1, 2], values: [0, 255, 51, 0])
        let labels = idxUInt8(dimensions: [2], values: [9, 3])
        try directory.write(gzipped(images), to: "train-images-idx3-ubyte.gz")
        try directory.write(labels, to: "train-labels-idx1-ubyte")
        try directory.write(images, to: "t10k-images-idx3-ubyte")
        try directory.write(gzipped(labels), to: "t10k-labels-idx1-ubyte.gz")
        // When both exist, the plain file is read: this damaged .gz is never opened.
        try directory.write([0x1f, 0x8b], to: "t10k-images-idx3-ubyte.gz")

        let (train, test) = try FashionMNIST.load(directory: directory.path + "/")
        for dataset in [train, test] {
            #expect(dataset.rowCount == 2)
            #expect(dataset.featureCount == 2)
            #expect(dataset.features.array == [0, 1, 0.2, 0])
            #expect(dataset.targets.classCount == 10)
        }
    }

    @Test func missingFilesPointToTheDebianPackage() throws {
        let directory = try TemporaryDirectory()
        let message = errorMessage { () throws(DatasetError) in try FashionMNIST.load(directory: directory.path) }
        #expect(message == "\(directory.path)/train-images-idx3-ubyte.gz: no such file; "
            + "install the Debian package dataset-fashion-mnist or pass --dataset PATH")
    }

    @Test func labelsAboveNineAreRejected() throws {
        let directory = try TemporaryDirectory()
        try directory.write(idxUInt8(dimensions: [1, 1, 1], values: [0]), to: "train-images-idx3-ubyte")
        let labelsPath = try directory.write(idxUInt8(dimensions: [1], values: [10]), to: "train-labels-idx1-ubyte")
        let message = errorMessage { () throws(DatasetError) in try FashionMNIST.load(directory: directory.path) }
        #expect(message == "\(labelsPath): label 10 of row 0 is outside 0..<10; the labels file does not belong to this dataset")
    }
}
