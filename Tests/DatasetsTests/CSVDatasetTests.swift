// Tests of the CSV reader: the bundled xor.csv, the choice of label column,
// class versus value targets, and the exact message for each malformed file.

import Datasets
import Engine
import Testing

@Suite struct CSVDatasetTests {
    func parse(_ text: String, labelColumn: CSVLabelColumn = .automatic, labelsAsValues: Bool = false)
        throws(DatasetError) -> Dataset
    {
        try CSVDataset.parse(Array(text.utf8), path: "t.csv", labelColumn: labelColumn, labelsAsValues: labelsAsValues)
    }

    func message(_ text: String, labelColumn: CSVLabelColumn = .automatic) -> String? {
        errorMessage { () throws(DatasetError) in try parse(text, labelColumn: labelColumn) }
    }

    @Test func bundledXORLoads() throws {
        let dataset = try CSVDataset.load(path: packageRoot + "/datasets/xor.csv")
        #expect(dataset.name == "xor.csv")
        #expect(dataset.rowCount == 4)
        #expect(dataset.featureCount == 2)
        #expect(dataset.features.array == [0, 0, 0, 1, 1, 0, 1, 1])
        guard case .classes(let labels, let classCount) = dataset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(labels == [0, 1, 1, 0])
        #expect(classCount == 2)
    }

    @Test func gzipCSVLoads() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(gzipped(Array("a,label\n1.5,3\n".utf8)), to: "small.csv.gz")
        let dataset = try CSVDataset.load(path: path)
        #expect(dataset.features.array == [1.5])
        #expect(dataset.targets.classCount == 4)
    }

    @Test(arguments: [
        (CSVLabelColumn.automatic, [Float(1), 2, 4, 5], [Int32(3), 6]),
        (.named("b"), [1, 3, 4, 6], [2, 5]),
        (.index(0), [2, 3, 5, 6], [1, 4]),
    ])
    func labelColumnIsChosen(column: CSVLabelColumn, features: [Float], labels: [Int32]) throws {
        let dataset = try parse("a,b,c\n1,2,3\n4,5,6\n", labelColumn: column)
        #expect(dataset.features.array == features)
        guard case .classes(let values, let classCount) = dataset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(values == labels)
        #expect(classCount == Int(labels.max() ?? 0) + 1)
    }

    @Test func columnNamedLabelIsTheDefault() throws {
        let dataset = try parse("label,x\n1,0.5\n0,0.25\n")
        #expect(dataset.features.array == [0.5, 0.25])
        #expect(dataset.targets.classCount == 2)
    }

    @Test func nonIntegerOrNegativeLabelsBecomeValues() throws {
        for text in ["x,y\n1,0.5\n2,3\n", "x,y\n1,-1\n2,3\n"] {
            let dataset = try parse(text)
            guard case .values(let buffer, let width) = dataset.targets else {
                Issue.record("expected value targets for \(text)")
                continue
            }
            #expect(width == 1)
            #expect(buffer.count == 2)
        }
        let forced = try parse("x,label\n1,0\n2,1\n", labelsAsValues: true)
        guard case .values(let buffer, _) = forced.targets else {
            Issue.record("expected value targets")
            return
        }
        #expect(buffer.array == [0, 1])
    }

    @Test func windowsLineEndsBlankLinesQuotesAndByteOrderMarkAreAccepted() throws {
        let dataset = try parse("\u{FEFF}\"x1\", \"label\"\r\n\r\n 1 , 2 \r\n\n3,4\r\n")
        #expect(dataset.features.array == [1, 3])
        guard case .classes(let labels, _) = dataset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(labels == [2, 4])
    }

    @Test func wrongFieldCountNamesTheLine() {
        #expect(message("a,b,label\n1,2,0\n\n1,2\n")
            == "t.csv:4: 2 fields but the header has 3; give every row one value per column")
    }

    @Test func missingValueNamesLineAndColumn() {
        #expect(message("a,b,label\n1,2,0\n1,,0\n") == "t.csv:3: column 2 (b) is empty; fill in every value")
    }

    @Test func nonNumericValueNamesLineAndColumn() {
        #expect(message("a,b,label\n1,2,0\n1,2,cat\n")
            == "t.csv:3: column 3 (label) value \"cat\" is not a finite number; use plain decimal numbers")
        #expect(message("a,b\n1,nan\n") == "t.csv:2: column 2 (b) value \"nan\" is not a finite number; use plain decimal numbers")
        #expect(message("a,b\n1e999,1\n")
            == "t.csv:2: column 1 (a) value \"1e999\" is not a finite number; use plain decimal numbers")
    }

    @Test func unknownLabelColumnListsTheColumns() {
        #expect(message("a,b\n1,2\n", labelColumn: .named("target"))
            == "t.csv: no label column \"target\" (columns: a, b); pass one of these names or a 0-based index below 2")
        #expect(message("a,b\n1,2\n", labelColumn: .index(2))
            == "t.csv: no label column index 2 (columns: a, b); pass one of these names or a 0-based index below 2")
    }

    @Test func emptyAndHeaderOnlyFilesAreRejected() throws {
        #expect(message("") == "t.csv: the file is empty; point to the right file or recreate it")
        #expect(message("\n \n") == "t.csv: the file is empty; point to the right file or recreate it")
        #expect(message("a,label\n") == "t.csv: the file holds no data rows; a dataset needs at least one row")
        let directory = try TemporaryDirectory()
        let path = try directory.write("", to: "empty.csv")
        #expect(errorMessage { () throws(DatasetError) in try CSVDataset.load(path: path) }
            == "\(path): the file is empty; point to the right file or recreate it")
    }

    @Test func missingHeaderIsDetected() {
        #expect(message("0,0,0\n0,1,1\n")
            == "t.csv:1: the first line is all numbers but a header line is required; add a line of column names such as x1,x2,label")
    }

    @Test func labelOnlyFileHasNoFeatures() {
        #expect(message("label\n1\n") == "t.csv: rows have no feature values besides the label; a dataset needs at least one feature")
    }
}
