// Tests of datasets from .npy pairs written by numpy: feature shapes, class
// versus value targets, and the exact message for each mismatched pair.

import Datasets
import Engine
import Foundation
import Testing

@Suite struct NPYDatasetTests {
    /// Writes the fixtures with numpy and returns the directory (with a trailing slash).
    static func fixtures(_ directory: TemporaryDirectory) throws -> String {
        try NumPy.run("""
            np.save("x.npy", np.arange(12, dtype="<f4").reshape(4, 3) / 4)
            np.save("x64.npy", np.arange(12, dtype="<f8").reshape(4, 3) / 4)
            np.save("x1d.npy", np.array([0.5, 1, 1.5, 2], dtype="<f4"))
            np.save("images.npy", np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3))
            np.save("y_i8.npy", np.array([2, 0, 1, 2], dtype="<i8"))
            np.save("y_u1.npy", np.array([1, 0, 1, 1], dtype=np.uint8))
            np.save("y_i4_col.npy", np.array([[3], [0], [1], [2]], dtype="<i4"))
            np.save("y_multi.npy", np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.uint8))
            np.save("y_f4.npy", np.array([0.25, -1, 3.5, 0], dtype="<f4"))
            np.save("y_f8_2d.npy", np.array([[1, 2], [3, 4], [5, 6], [7, 8]], dtype="<f8"))
            np.save("y_short.npy", np.array([1, 0, 1], dtype="<i8"))
            np.save("y_3d.npy", np.zeros((4, 1, 1), dtype="<i8"))
            np.save("y_negative.npy", np.array([0, 1, -1, 0], dtype="<i8"))
            np.save("y_huge.npy", np.array([0, 2**40, 1, 0], dtype="<i8"))
            np.save("y_nan.npy", np.array([0, 1, np.inf, 0], dtype="<f4"))
            np.save("x_nan.npy", np.array([[0, 1, 2], [3, 4, np.nan], [6, 7, 8], [9, 10, 11]], dtype="<f4"))
            np.save("x_big.npy", np.array([[1e300], [0], [0], [0]], dtype="<f8"))
            np.save("x_scalar.npy", np.float32(1))
            np.save("x_empty.npy", np.zeros((0, 3), dtype="<f4"))
            np.save("x_zero_width.npy", np.zeros((4, 0), dtype="<f4"))
            np.save("y_zero_width.npy", np.zeros((4, 0), dtype="<f4"))
            """, in: directory.path)
        return directory.path + "/"
    }

    @Test func classLabelsAndFeatureShapes() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.fixtures(directory)
        let quarterSteps = (0..<12).map { Float($0) / 4 }

        let dataset = try NPYDataset.load(featuresPath: path + "x.npy", labelsPath: path + "y_i8.npy")
        #expect(dataset.name == "x.npy")
        #expect(dataset.rowCount == 4 && dataset.featureCount == 3)
        #expect(dataset.features.array == quarterSteps)
        guard case .classes(let labels, let classCount) = dataset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(labels == [2, 0, 1, 2] && classCount == 3)

        let fromDoubles = try NPYDataset.load(featuresPath: path + "x64.npy", labelsPath: path + "y_u1.npy", name: "d")
        #expect(fromDoubles.name == "d" && fromDoubles.features.array == quarterSteps)
        #expect(fromDoubles.targets.classCount == 2)

        let oneFeature = try NPYDataset.load(featuresPath: path + "x1d.npy", labelsPath: path + "y_i4_col.npy")
        #expect(oneFeature.featureCount == 1 && oneFeature.features.array == [0.5, 1, 1.5, 2])
        #expect(oneFeature.targets.classCount == 4)

        let images = try NPYDataset.load(featuresPath: path + "images.npy", labelsPath: path + "y_i8.npy")
        #expect(images.featureCount == 6)
        #expect(images.features.array == (0..<24).map(Float.init))
    }

    @Test func floatAndMultiOutputLabelsAreValues() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.fixtures(directory)
        func values(_ labels: String, asValues: Bool = false) throws -> ([Float], Int)? {
            let dataset = try NPYDataset.load(featuresPath: path + "x.npy", labelsPath: path + labels, labelsAsValues: asValues)
            guard case .values(let buffer, let width) = dataset.targets else { return nil }
            return (buffer.array, width)
        }
        let cases: [(String, Bool, [Float], Int)] = [
            ("y_f4.npy", false, [0.25, -1, 3.5, 0], 1),
            ("y_f8_2d.npy", false, [1, 2, 3, 4, 5, 6, 7, 8], 2),
            ("y_multi.npy", false, [1, 0, 0, 1, 1, 1, 0, 0], 2),
            ("y_i8.npy", true, [2, 0, 1, 2], 1),
        ]
        for (labels, asValues, expected, width) in cases {
            let targets = try #require(try values(labels, asValues: asValues), "\(labels) gave class targets")
            #expect(targets == (expected, width), "\(labels)")
        }
    }

    @Test func mismatchedPairsGetTheirMessages() throws {
        let directory = try TemporaryDirectory()
        let path = try Self.fixtures(directory)
        func message(_ features: String, _ labels: String) -> String? {
            npyMessage { () throws(NPYError) in
                try NPYDataset.load(featuresPath: path + features, labelsPath: path + labels)
            }
        }
        #expect(message("x.npy", "y_short.npy")
            == "\(path)x.npy: 4 rows but \(path)y_short.npy has 3; pass a features file and the labels file that belongs to it")
        #expect(message("x.npy", "y_3d.npy")
            == "\(path)y_3d.npy: labels need shape (rows,) or (rows, outputs) but the array has shape (4, 1, 1); "
            + "save one label row per sample")
        #expect(message("x_scalar.npy", "y_i8.npy")
            == "\(path)x_scalar.npy: features need shape (rows,) or (rows, features, ...) but the array has shape (); "
            + "save one row per sample")
        #expect(message("x_empty.npy", "y_i8.npy")
            == "\(path)x_empty.npy: the array has shape (0, 3), no rows; a dataset needs at least one row")
        #expect(message("x_zero_width.npy", "y_i8.npy")
            == "\(path)x_zero_width.npy: the array has shape (4, 0), no values per row; a dataset needs at least one feature")
        #expect(message("x.npy", "y_zero_width.npy")
            == "\(path)y_zero_width.npy: the array has shape (4, 0), no values per row; a dataset needs at least one feature")
        #expect(message("x.npy", "y_negative.npy")
            == "\(path)y_negative.npy: label -1 of row 2 is outside 0...2147483647; class labels are non-negative integers")
        #expect(message("x.npy", "y_huge.npy")
            == "\(path)y_huge.npy: label 1099511627776 of row 1 is outside 0...2147483647; "
            + "class labels are non-negative integers")
        #expect(message("x_nan.npy", "y_i8.npy")
            == "\(path)x_nan.npy: row 1, column 2 is nan; every value must be a finite float32")
        #expect(message("x_big.npy", "y_i8.npy")
            == "\(path)x_big.npy: row 0, column 0 is inf; every value must be a finite float32")
        #expect(message("x.npy", "y_nan.npy")
            == "\(path)y_nan.npy: row 2, column 0 is inf; every value must be a finite float32")
        #expect(message("x.npy", "missing.npy") == "\(path)missing.npy: no such file; check the path")
    }
}
