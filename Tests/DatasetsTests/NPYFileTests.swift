// Tests of the .npy reader: files numpy wrote (every supported dtype, 1-D to
// 3-D, format versions 1.0, 2.0 and 3.0, gzip) read back exactly, and each
// malformed file gets its exact message.

import Datasets
import Engine
import Foundation
import Testing

@Suite struct NPYFileTests {
    @Test func numpyFilesOfEveryDtypeReadBack() throws {
        let directory = try TemporaryDirectory()
        try NumPy.run("""
            values = np.array([[0, 1.5, -2.25], [1e-3, 255, -7]])
            np.save("f4.npy", values.astype("<f4"))
            np.save("f8.npy", values.astype("<f8"))
            np.save("f4_1d.npy", np.array([0.1, 0.2, 0.3], dtype="<f4"))
            np.save("u1.npy", np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10)
            np.save("i1.npy", np.array([-128, 0, 127], dtype=np.int8))
            np.save("i2.npy", np.array([-32768, 1, 32767], dtype="<i2"))
            np.save("i4.npy", np.array([-2**31, 2, 2**31 - 1], dtype="<i4"))
            np.save("i8.npy", np.array([-2**63, 3, 2**63 - 1], dtype="<i8"))
            np.save("empty.npy", np.zeros((0, 5), dtype="<f4"))
            np.save("scalar.npy", np.float64(2.5))
            """, in: directory.path)
        let path = directory.path + "/"

        let f4 = try NPYFile(path: path + "f4.npy")
        #expect(f4.elementType == .float32)
        #expect(f4.shape == [2, 3])
        #expect(f4.floats().array == [0, 1.5, -2.25, 1e-3, 255, -7])
        #expect(f4.integers() == nil)
        let f8 = try NPYFile(path: path + "f8.npy")
        #expect(f8.elementType == .float64)
        #expect(f8.floats().array == [0, 1.5, -2.25, Float(1e-3 as Double), 255, -7])
        let oneD = try NPYFile(path: path + "f4_1d.npy")
        #expect(oneD.shape == [3])
        #expect(oneD.floats().array == [0.1, 0.2, 0.3])
        let images = try NPYFile(path: path + "u1.npy")
        #expect(images.elementType == .uint8)
        #expect(images.shape == [2, 3, 4])
        #expect(images.integers() == (0..<24).map { Int64($0 * 10) })
        #expect(images.floats().array == (0..<24).map { Float($0 * 10) })

        #expect(try NPYFile(path: path + "i1.npy").integers() == [-128, 0, 127])
        #expect(try NPYFile(path: path + "i2.npy").integers() == [-32768, 1, 32767])
        #expect(try NPYFile(path: path + "i4.npy").integers() == [Int64(Int32.min), 2, Int64(Int32.max)])
        #expect(try NPYFile(path: path + "i8.npy").integers() == [Int64.min, 3, Int64.max])
        let empty = try NPYFile(path: path + "empty.npy")
        #expect(empty.shape == [0, 5] && empty.elementCount == 0)
        let scalar = try NPYFile(path: path + "scalar.npy")
        #expect(scalar.shape == [] && scalar.floats().array == [2.5])
    }

    @Test(arguments: [(1, 0), (2, 0), (3, 0)])
    func everyFormatVersionReads(major: Int, minor: Int) throws {
        let directory = try TemporaryDirectory()
        try NumPy.run("""
            with open("v.npy", "wb") as f:
                np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype="<f4"), version=(\(major), \(minor)))
            """, in: directory.path)
        let file = try NPYFile(path: directory.path + "/v.npy")
        #expect(file.shape == [2, 2])
        #expect(file.floats().array == [1, 2, 3, 4])
    }

    @Test func gzipFileReads() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(
            gzipped(npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload: float32Bytes([1, -1]))),
            to: "a.npy.gz")
        #expect(try NPYFile(path: path).floats().array == [1, -1])
    }

    @Test func numpyFilesWeCannotReadGetTheirMessages() throws {
        let directory = try TemporaryDirectory()
        try NumPy.run("""
            np.save("fortran.npy", np.asfortranarray(np.zeros((2, 3), dtype="<f4")))
            np.save("big.npy", np.zeros(3, dtype=">f4"))
            np.save("complex.npy", np.zeros(3, dtype="<c8"))
            np.save("record.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
            """, in: directory.path)
        let path = directory.path + "/"
        #expect(npyMessage { () throws(NPYError) in try NPYFile(path: path + "fortran.npy") }
            == "\(path)fortran.npy: the array is stored in Fortran (column-major) order; "
            + "save numpy.ascontiguousarray(array) instead")
        let supported = "(supported: <f4, <f8, |u1, |i1, <i2, <i4, <i8); convert with array.astype('<f4')"
        #expect(npyMessage { () throws(NPYError) in try NPYFile(path: path + "big.npy") }
            == "\(path)big.npy: unsupported dtype '>f4' \(supported)")
        #expect(npyMessage { () throws(NPYError) in try NPYFile(path: path + "complex.npy") }
            == "\(path)complex.npy: unsupported dtype '<c8' \(supported)")
        #expect(npyMessage { () throws(NPYError) in try NPYFile(path: path + "record.npy") }
            == "\(path)record.npy: unsupported dtype [('x', '<f4'), ('y', '<i4')] \(supported)")
    }

    static let goodHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

    @Test(arguments: [
        (Array("hello, world".utf8), "t.npy: not a NumPy .npy file (it does not start with \\x93NUMPY); save the array with numpy.save"),
        ([0x93] + Array("NUM".utf8),
         "t.npy: file ends inside the .npy header (needs 10 bytes, has 4); the file is truncated, write it again"),
        ([0x93] + Array("NUMPY".utf8) + [1],
         "t.npy: file ends inside the .npy header (needs 10 bytes, has 7); the file is truncated, write it again"),
        ([0x93] + Array("NUMPY".utf8) + [2, 0, 0x40],
         "t.npy: file ends inside the .npy header (needs 12 bytes, has 9); the file is truncated, write it again"),
        ([0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0, 0x7B],
         "t.npy: file ends inside the .npy header (needs 128 bytes, has 11); the file is truncated, write it again"),
        ([0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0, 0, 0],
         "t.npy: .npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are); save the array with numpy.save"),
        ([0x93] + Array("NUMPY".utf8) + [1, 1, 0, 0],
         "t.npy: .npy format version 1.1 is not supported (1.0, 2.0 and 3.0 are); save the array with numpy.save"),
    ] as [([UInt8], String)])
    func brokenPreambleMessages(bytes: [UInt8], message: String) {
        #expect(npyMessage { () throws(NPYError) in try NPYFile(bytes: bytes, path: "t.npy") } == message)
    }

    @Test(arguments: [
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ",
         "malformed .npy header: ends where a value was expected; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False}",
         "malformed .npy header: no 'shape' key; save the array with numpy.save"),
        ("{'descr': '<f4', 'shape': (6,)}",
         "malformed .npy header: no 'fortran_order' key; save the array with numpy.save"),
        ("{'fortran_order': False, 'shape': (6,)}",
         "malformed .npy header: no 'descr' key; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}",
         "malformed .npy header: 'fortran_order' is 0, not True or False; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
         "malformed .npy header: 'shape' is [2, 3], not a tuple; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
         "malformed .npy header: 'shape' (2, -3) holds -3, not a size ≥ 0; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x",
         "malformed .npy header: unexpected 'x' at byte 58 of the header after the dictionary; save the array with numpy.save"),
        ("{'descr'= '<f4', 'fortran_order': False, 'shape': (2, 3)}",
         "malformed .npy header: expected ':' but found '=' at byte 8 of the header; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2; 3)}",
         "malformed .npy header: expected ',' or ')' but found ';' at byte 52 of the header; save the array with numpy.save"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
         "malformed .npy header: expected ',' or '}' but found 'f' at byte 17 of the header; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 'open}",
         "malformed .npy header: string starting at byte 63 of the header is not closed; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': @}",
         "malformed .npy header: unexpected '@' at byte 63 of the header; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         "malformed .npy header: integer at byte 51 of the header is too large; save the array with numpy.save"),
        ("[('descr', '<f4')]",
         "malformed .npy header: expected a dictionary {...}, found [('descr', '<f4')]; save the array with numpy.save"),
        (String(repeating: "(", count: 40),
         "malformed .npy header: nested more than 32 levels deep; save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'é': 1}",
         "malformed .npy header: byte 59 of the header is not ASCII (only version 3.0 headers are UTF-8); save the array with numpy.save"),
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
         "the array is stored in Fortran (column-major) order; save numpy.ascontiguousarray(array) instead"),
        ("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }",
         "unsupported dtype '<f2' (supported: <f4, <f8, |u1, |i1, <i2, <i4, <i8); convert with array.astype('<f4')"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }",
         "header describes shape (3, 3) = 36 data bytes but the file holds 24; "
            + "the file is truncated or damaged, write it again"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
         "header describes shape (1,) = 4 data bytes but the file holds 24; "
            + "the file is truncated or damaged, write it again"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
         "header describes shape (4294967296, 4294967296) = 9223372036854775807 data bytes but the file holds 24; "
            + "the file is truncated or damaged, write it again"),
    ])
    func malformedHeaderMessages(header: String, message: String) {
        let bytes = npyBytes(header: header, payload: float32Bytes([1, 2, 3, 4, 5, 6]))
        #expect(npyMessage { () throws(NPYError) in try NPYFile(bytes: bytes, path: "t.npy") } == "t.npy: " + message)
    }

    @Test func aZeroDimensionMakesAnEmptyArrayWhateverTheOtherSizes() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 0), }"
        let file = try NPYFile(bytes: npyBytes(header: header, payload: []), path: "t.npy")
        #expect(file.elementCount == 0)
        let features = try NPYFile(
            bytes: npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4611686018427387904, 4611686018427387904, 0), }",
                            payload: []), path: "x.npy")
        let labels = try NPYFile(
            bytes: npyBytes(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", payload: [0, 1]), path: "y.npy")
        #expect(npyMessage { () throws(NPYError) in try NPYDataset.dataset(features: features, labels: labels) }
            == "x.npy: the array has shape (2, 4611686018427387904, 4611686018427387904, 0), no values per row; "
            + "a dataset needs at least one feature")
    }

    @Test func version3HeadersMayHoldUTF8() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'note': 'é'}"
        let file = try NPYFile(bytes: npyBytes(header: header, payload: float32Bytes([1, 2, 3, 4, 5, 6]), version: 3), path: "t.npy")
        #expect(file.shape == [2, 3])
    }

    @Test func missingFileIsTheDatasetMessage() {
        #expect(npyMessage { () throws(NPYError) in try NPYFile(path: "/nonexistent/x.npy") }
            == "/nonexistent/x.npy: no such file; check the path")
    }
}
