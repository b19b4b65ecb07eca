// Tests of the IDX reader: every element type, plain and gzip files, and the
// exact message for each malformed header, size and compressed stream.

import Datasets
import Engine
import Testing

@Suite struct IDXFileTests {
    /// Three 2×2 images and their labels.
    let pixels: [UInt8] = [0, 255, 51, 102, 1, 2, 3, 4, 200, 100, 50, 25]
    let labels: [UInt8] = [2, 0, 1]

    @Test(arguments: [false, true])
    func imagesAndLabelsRoundTrip(compressed: Bool) throws {
        let directory = try TemporaryDirectory()
        let suffix = compressed ? ".gz" : ""
        let images = idxUInt8(dimensions: [3, 2, 2], values: pixels)
        let labelFile = idxUInt8(dimensions: [3], values: labels)
        let imagesPath = try directory.write(compressed ? gzipped(images) : images, to: "images" + suffix)
        let labelsPath = try directory.write(compressed ? gzipped(labelFile) : labelFile, to: "labels" + suffix)

        let dataset = try IDXDataset.load(imagesPath: imagesPath, labelsPath: labelsPath)
        #expect(dataset.rowCount == 3)
        #expect(dataset.featureCount == 4)
        #expect(dataset.name == "images" + suffix)
        #expect(dataset.features.array == pixels.map { Float($0) / 255 })
        guard case .classes(let values, let classCount) = dataset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(values == [2, 0, 1])
        #expect(classCount == 3)
    }

    @Test func gzipWithSeveralMembersIsReadWhole() throws {
        let directory = try TemporaryDirectory()
        let file = idxUInt8(dimensions: [3, 2, 2], values: pixels)
        let path = try directory.write(gzipped(Array(file.prefix(10))) + gzipped(Array(file.dropFirst(10))), to: "x.gz")
        let idx = try IDXFile(path: path)
        #expect(idx.dimensions == [3, 2, 2])
        #expect(idx.floats().array == pixels.map { Float($0) })
    }

    @Test func everyElementTypeDecodesBigEndian() throws {
        let integers: [Int32] = [0, 1, -3, 100]
        let cases: [(IDXDataType, [UInt8])] = [
            (.signedByte, integers.map { UInt8(bitPattern: Int8($0)) }),
            (.short, integers.flatMap { bigEndian(UInt32(UInt16(bitPattern: Int16($0)))).suffix(2) }),
            (.int, integers.flatMap { bigEndian(UInt32(bitPattern: $0)) }),
            (.float, integers.flatMap { bigEndian(Float($0).bitPattern) }),
            (.double, integers.flatMap { bigEndian(Double($0).bitPattern) }),
        ]
        for (type, payload) in cases {
            let idx = try IDXFile(bytes: idxFile(type: type.rawValue, dimensions: [2, 2], payload: payload), path: "x")
            #expect(idx.dataType == type)
            #expect(idx.elementCount == 4)
            #expect(idx.floats().array == [0, 1, -3, 100], "\(type)")
            #expect(idx.floats(dividingBy: 2).array == [0, 0.5, -1.5, 50], "\(type)")
            #expect(idx.integers() == (type.isInteger ? integers : nil), "\(type)")
        }
        let bytes = try IDXFile(bytes: idxUInt8(dimensions: [4], values: [0, 1, 128, 255]), path: "x")
        #expect(bytes.integers() == [0, 1, 128, 255])
    }

    @Test func floatLabelsBecomeValueTargets() throws {
        let directory = try TemporaryDirectory()
        let imagesPath = try directory.write(idxUInt8(dimensions: [2, 1], values: [0, 255]), to: "images")
        let targets: [Float] = [0.5, -2, 1, 4]
        let labelsPath = try directory.write(
            idxFile(type: 0x0D, dimensions: [2, 2], payload: targets.flatMap { bigEndian($0.bitPattern) }), to: "labels")
        let dataset = try IDXDataset.load(imagesPath: imagesPath, labelsPath: labelsPath)
        guard case .values(let buffer, let width) = dataset.targets else {
            Issue.record("expected value targets")
            return
        }
        #expect(width == 2)
        #expect(buffer.array == targets)
    }

    @Test func wrongMagicNumberIsNamed() {
        let message = errorMessage { () throws(DatasetError) in try IDXFile(bytes: [UInt8](repeating: 0, count: 16), path: "a/b.idx") }
        #expect(message == "a/b.idx: wrong IDX magic number 0x00000000 (expected 0x0000TTNN with TT = type 08 uint8, "
            + "09 int8, 0B int16, 0C int32, 0D float32 or 0E float64 and NN = number of dimensions); is this an IDX file?")
        let unknownType = errorMessage { () throws(DatasetError) in try IDXFile(bytes: [0, 0, 0x07, 1, 0, 0, 0, 0], path: "t") }
        #expect(unknownType?.hasPrefix("t: wrong IDX magic number 0x00000701 ") == true)
    }

    @Test func headerClaimingMoreBytesThanTheFileHas() {
        let file = idxUInt8(dimensions: [10, 28, 28], values: [UInt8](repeating: 7, count: 100))
        let message = errorMessage { () throws(DatasetError) in try IDXFile(bytes: file, path: "images") }
        #expect(message == "images: IDX header describes 10x28x28 elements = 7856 bytes but the file has 116 bytes; "
            + "the file is truncated or damaged, download or reinstall it")
    }

    @Test func trailingBytesAfterTheElementsAreRejected() {
        let file = idxUInt8(dimensions: [2], values: [1, 2, 3])
        let message = errorMessage { () throws(DatasetError) in try IDXFile(bytes: file, path: "labels") }
        #expect(message == "labels: IDX header describes 2 elements = 10 bytes but the file has 11 bytes; "
            + "the file is truncated or damaged, download or reinstall it")
    }

    @Test func dimensionsWhoseProductOverflowsAreRejected() {
        let file = idxFile(type: 0x0E, dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], payload: [])
        let message = errorMessage { () throws(DatasetError) in try IDXFile(bytes: file, path: "huge") }
        #expect(message == "huge: IDX header describes 4294967295x4294967295x4294967295 elements = "
            + "9223372036854775807 bytes but the file has 16 bytes; the file is truncated or damaged, download or reinstall it")
    }

    @Test func fileEndingInsideTheHeader() {
        let tooShort = errorMessage { () throws(DatasetError) in try IDXFile(bytes: [0, 0, 8], path: "x") }
        #expect(tooShort == "x: file ends inside the IDX header (needs 4 bytes, has 3); the file is truncated, download or reinstall it")
        let noDimensions = errorMessage { () throws(DatasetError) in try IDXFile(bytes: [0, 0, 8, 3, 0, 0, 0, 1], path: "x") }
        #expect(noDimensions == "x: file ends inside the IDX header (needs 16 bytes, has 8); the file is truncated, download or reinstall it")
    }

    @Test func truncatedGzipIsNamed() throws {
        let directory = try TemporaryDirectory()
        let compressed = gzipped(idxUInt8(dimensions: [3, 2, 2], values: pixels))
        for keep in [2, 10, compressed.count / 2, compressed.count - 4] {
            let path = try directory.write(Array(compressed.prefix(keep)), to: "cut.gz")
            let message = errorMessage { () throws(DatasetError) in try IDXFile(path: path) }
            #expect(message == "\(path): gzip data ends early (the file is truncated); download or reinstall it", "kept \(keep)")
        }
    }

    @Test func corruptGzipIsNamed() throws {
        let directory = try TemporaryDirectory()
        var compressed = gzipped(idxUInt8(dimensions: [3, 2, 2], values: pixels))
        compressed[10] = 0xFF  // First deflate block header: final block of the reserved type 3.
        let path = try directory.write(compressed, to: "bad.gz")
        let message = errorMessage { () throws(DatasetError) in try IDXFile(path: path) }
        #expect(message == "\(path): corrupt gzip data (invalid block type); download or reinstall the file")

        var badChecksum = gzipped(idxUInt8(dimensions: [3, 2, 2], values: pixels))
        badChecksum[badChecksum.count - 8] ^= 0x01  // CRC-32 in the trailer.
        let checksumPath = try directory.write(badChecksum, to: "crc.gz")
        let checksumMessage = errorMessage { () throws(DatasetError) in try IDXFile(path: checksumPath) }
        #expect(checksumMessage == "\(checksumPath): corrupt gzip data (incorrect data check); download or reinstall the file")
    }

    @Test func missingEmptyAndDirectoryPathsAreNamed() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/none"
        #expect(errorMessage { () throws(DatasetError) in try IDXFile(path: missing) } == "\(missing): no such file; check the path")
        let empty = try directory.write([UInt8](), to: "empty")
        #expect(errorMessage { () throws(DatasetError) in try IDXFile(path: empty) }
            == "\(empty): the file is empty; point to the right file or recreate it")
        #expect(errorMessage { () throws(DatasetError) in try IDXFile(path: directory.path) }
            == "\(directory.path): cannot read the file (it is a directory); check the path and its permissions")
    }

    @Test func imageAndLabelCountsMustAgree() throws {
        let directory = try TemporaryDirectory()
        let imagesPath = try directory.write(idxUInt8(dimensions: [3, 2, 2], values: pixels), to: "images")
        let labelsPath = try directory.write(idxUInt8(dimensions: [2], values: [1, 0]), to: "labels")
        let message = errorMessage { () throws(DatasetError) in try IDXDataset.load(imagesPath: imagesPath, labelsPath: labelsPath) }
        #expect(message == "\(imagesPath): 3 rows but \(labelsPath) has 2 labels; pass an images file and the labels file that belongs to it")
    }

    @Test func labelsOutsideTheClassRangeAreNamed() throws {
        let directory = try TemporaryDirectory()
        let imagesPath = try directory.write(idxUInt8(dimensions: [3, 2, 2], values: pixels), to: "images")
        let labelsPath = try directory.write(idxUInt8(dimensions: [3], values: [1, 12, 0]), to: "labels")
        let tooLarge = errorMessage { () throws(DatasetError) in
            try IDXDataset.load(imagesPath: imagesPath, labelsPath: labelsPath, classCount: 10)
        }
        #expect(tooLarge == "\(labelsPath): label 12 of row 1 is outside 0..<10; the labels file does not belong to this dataset")

        let signedPath = try directory.write(idxFile(type: 0x09, dimensions: [3], payload: [0, 1, 0xFF]), to: "signed")
        let negative = errorMessage { () throws(DatasetError) in try IDXDataset.load(imagesPath: imagesPath, labelsPath: signedPath) }
        #expect(negative == "\(signedPath): label -1 of row 2 is negative; the labels file does not belong to this dataset")
    }

    @Test func filesWithoutRowsOrFeaturesAreRejected() throws {
        let directory = try TemporaryDirectory()
        let noRows = try directory.write(idxUInt8(dimensions: [0, 2, 2], values: []), to: "norows")
        let noLabels = try directory.write(idxUInt8(dimensions: [0], values: []), to: "nolabels")
        #expect(errorMessage { () throws(DatasetError) in try IDXDataset.load(imagesPath: noRows, labelsPath: noLabels) }
            == "\(noRows): the file holds no data rows; a dataset needs at least one row")
        let noFeatures = try directory.write(idxUInt8(dimensions: [2, 0], values: []), to: "nofeatures")
        let labels = try directory.write(idxUInt8(dimensions: [2], values: [0, 1]), to: "labels")
        #expect(errorMessage { () throws(DatasetError) in try IDXDataset.load(imagesPath: noFeatures, labelsPath: labels) }
            == "\(noFeatures): rows have no feature values besides the label; a dataset needs at least one feature")
    }
}
