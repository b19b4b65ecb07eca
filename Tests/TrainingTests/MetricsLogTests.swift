// Tests of metrics.jsonl and metrics.csv: read back with Python's json and csv
// modules, numbers round-trip exactly, missing columns stay empty, a reopened
// run appends without a second header, and a changed column set is refused.

import Foundation
import Testing
import Training

@Suite struct MetricsLogTests {
    @Test func pythonReadsBackEveryValue() throws {
        let directory = try ScratchDirectory()
        let log = try MetricsLog(directory: directory.path + "/run", columns: ["step", "epoch", "loss", "lr", "note"])
        try log.log(["step": 1, "epoch": 0, "loss": .float(0.1), "lr": .double(1e-3), "note": "warm, \"up\""])
        try log.log(["step": 2, "loss": .double(0.1 + 0.2), "lr": .double(.infinity), "grad_norm": .double(.nan)])
        try log.log(["step": 3, "epoch": 1, "note": "line\nbreak", "val/accuracy": .double(.leastNonzeroMagnitude)])
        try log.close()

        let script = #"""
            import csv, json, sys
            for line in open(sys.argv[1] + "/metrics.jsonl"):
                print(repr(json.loads(line)))
            for row in csv.reader(open(sys.argv[1] + "/metrics.csv", newline="")):
                print(repr(row))
            """#
        let result = try Python.run(script, arguments: [directory.path + "/run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").map(String.init) == [
            #"{'step': 1, 'epoch': 0, 'loss': 0.1, 'lr': 0.001, 'note': 'warm, "up"'}"#,
            #"{'step': 2, 'loss': 0.30000000000000004, 'lr': None, 'grad_norm': None}"#,
            #"{'step': 3, 'epoch': 1, 'note': 'line\nbreak', 'val/accuracy': 5e-324}"#,
            #"['step', 'epoch', 'loss', 'lr', 'note']"#,
            #"['1', '0', '0.1', '0.001', 'warm, "up"']"#,
            #"['2', '', '0.30000000000000004', 'inf', '']"#,
            #"['3', '1', '', '', 'line\nbreak']"#,
        ])
    }

    @Test func numbersRoundTripThroughTheirText() throws {
        let directory = try ScratchDirectory()
        let log = try MetricsLog(directory: directory.path, columns: ["d", "f"])
        let doubles: [Double] = [0.1, 1.0 / 3, 123_456_789.123_456_78, 6.02214076e23, -2.5e-308, 1]
        let floats: [Float] = [0.1, 1.0 / 3, 16_777_215, .greatestFiniteMagnitude, .leastNonzeroMagnitude, -7]
        for (double, float) in zip(doubles, floats) { try log.log(["d": .double(double), "f": .float(float)]) }
        let rows = try directory.text(of: "metrics.csv").split(separator: "\n").dropFirst()
        #expect(rows.map { Double($0.split(separator: ",")[0]) } == doubles)
        #expect(rows.map { Float($0.split(separator: ",")[1]) } == floats)
    }

    @Test func reopeningAppendsWithoutASecondHeader() throws {
        let directory = try ScratchDirectory()
        try MetricsLog(directory: directory.path, columns: ["step", "loss"]).log(["step": 1, "loss": 0.5])
        try MetricsLog(directory: directory.path, columns: ["step", "loss"]).log(["step": 2, "loss": 0.25])
        #expect(try directory.text(of: "metrics.csv") == "step,loss\n1,0.5\n2,0.25\n")
        #expect(try directory.text(of: "metrics.jsonl") == "{\"step\":1,\"loss\":0.5}\n{\"step\":2,\"loss\":0.25}\n")
    }

    @Test func eachRecordIsOnDiskBeforeTheNextCall() throws {
        let directory = try ScratchDirectory()
        let log = try MetricsLog(directory: directory.path, columns: ["step"])
        try log.log(["step": 7])
        #expect(try directory.text(of: "metrics.jsonl") == "{\"step\":7}\n")
        #expect(try directory.text(of: "metrics.csv") == "step\n7\n")
    }

    @Test func changedColumnsAreRefusedWithTheirNames() throws {
        let directory = try ScratchDirectory()
        try MetricsLog(directory: directory.path, columns: ["step", "loss"]).log(["step": 1])
        let path = directory.path + "/metrics.csv"
        #expect(throws: MetricsError.csvColumnsChanged(path: path, existing: ["step", "loss"], requested: ["step", "lr"])) {
            try MetricsLog(directory: directory.path, columns: ["step", "lr"])
        }
        #expect(
            MetricsError.csvColumnsChanged(path: "r/metrics.csv", existing: ["step", "loss"], requested: ["step", "lr"])
                .description
                == "r/metrics.csv: the file has columns step,loss but this run writes step,lr; "
                + "use a new run directory or move the old file away")
    }
}
