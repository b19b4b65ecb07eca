// Training outcomes of the release binary: XOR is learned exactly, and the
// default model reaches the accuracy the README promises.

import Foundation
import Testing

@Suite(.serialized)
struct TrainingRunTests {
    @Test func xorIsLearnedToFullAccuracy() throws {
        let result = try Binary.run([
            "train", "--dataset", "datasets/xor.csv", "--model", "2-4:tanh-1:sigmoid", "--optimizer", "sgd",
            "--lr", "0.5", "--batch-size", "4", "--epochs", "2000", "--no-gemm-limit",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.testAccuracy == 100)
    }

    /// 784-256:relu-128:relu-10:softmax, Adam lr 1e-3, batch 128, 10 epochs: ≥ 88 % test accuracy.
    @Test func fashionMNISTReaches88PercentIn10Epochs() throws {
        let result = try Binary.run(["train", "--epochs", "10", "--batch-size", "128", "--no-gemm-limit"])
        #expect(result.status == 0, "\(result.stderr)")
        let accuracy = try #require(result.testAccuracy)
        #expect(accuracy >= 88.0)
    }

    @Test func everyEpochPrintsTestMetricsAndTheRunEndsWithAFingerprint() throws {
        let result = try Binary.run(["train", "--train-limit", "1024", "--test-limit", "200", "--epochs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        let epochs = lines.filter { ($0.contains(" epoch ") || $0.hasPrefix("epoch ")) && $0.contains("test loss") }
        #expect(epochs.count == 2)
        // Each epoch line ends with the wall time since launch, which grows.
        let times = epochs.compactMap { line -> Double? in
            guard let range = line.range(of: "  at ", options: .backwards), line.hasSuffix(" s") else { return nil }
            return Double(line[range.upperBound...].dropLast(2))
        }
        #expect(times.count == 2, "\(epochs)")
        #expect(times.first.map { $0 > 0 } == true && times == times.sorted())
        #expect(lines.contains { $0.contains("GEMM-bound limit") })
        #expect(result.fingerprint?.count == 64)
    }
}

@Suite(.serialized)
struct GradientHealthTests {
    /// Layer → weight-gradient norm at the last logged step of a 10-layer net.
    static func lastStepNorms(activation: String) throws -> [Int: Double] {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = "784" + String(repeating: "-64:\(activation)", count: 9) + "-10:softmax"
        let result = try Binary.run([
            "train", "--model", model, "--optimizer", "sgd", "--lr", "0.1", "--epochs", "1", "--train-limit", "6400",
            "--test-limit", "100", "--health-every", "10", "--health-log", directory.path, "--no-gemm-limit",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: directory.appendingPathComponent("gradient-health.csv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.count == 50 * 10 / 10)  // 50 steps, every 10th logged, 10 layers
        let last = rows.compactMap { Int($0[0]) }.max() ?? 0
        var norms: [Int: Double] = [:]
        for row in rows where Int(row[0]) == last { norms[Int(row[2]) ?? -1] = Double(row[3]) }
        return norms
    }

    @Test func sigmoidGradientsVanishTowardTheInputAndReLUGradientsDoNot() throws {
        let sigmoid = try Self.lastStepNorms(activation: "sigmoid")
        let relu = try Self.lastStepNorms(activation: "relu")
        let sigmoidRatio = try #require(sigmoid[0]) / #require(sigmoid[9])
        let reluRatio = try #require(relu[0]) / #require(relu[9])
        #expect(sigmoidRatio < 1e-3)
        #expect(reluRatio > 0.1 && reluRatio < 10)
    }
}

@Suite(.serialized)
struct NumPyDataTests {
    /// A version 1.0 .npy file of `descr` with `shape` and raw little-endian `payload`.
    static func npy(descr: String, shape: [Int], payload: [UInt8]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        return Data(bytes + Array(header.utf8) + payload)
    }

    @Test func numPyFeaturesAndLabelsTrain() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Two separable classes: label = (x0 > x1).
        var features: [Float] = []
        var labels: [Int64] = []
        for i in 0..<256 {
            let a = Float((i * 37) % 101) / 50 - 1
            let b = Float((i * 53) % 97) / 48 - 1
            features += [a, b]
            labels.append(a > b ? 1 : 0)
        }
        let x = directory.appendingPathComponent("x.npy")
        let y = directory.appendingPathComponent("y.npy")
        try Self.npy(descr: "<f4", shape: [256, 2], payload: features.withUnsafeBytes { Array($0) }).write(to: x)
        try Self.npy(descr: "<i8", shape: [256], payload: labels.withUnsafeBytes { Array($0) }).write(to: y)
        let result = try Binary.run([
            "train", "--dataset", x.path, "--labels", y.path, "--model", "2-8:tanh-2:softmax", "--batch-size", "32",
            "--epochs", "30", "--lr", "0.02", "--no-gemm-limit",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try #require(result.testAccuracy) >= 95)

        let missing = try Binary.run(["train", "--dataset", x.path, "--no-gemm-limit"])
        #expect(missing.status == 64)
        #expect(missing.stderr == "dptrain: error: --dataset \(x.path) is a NumPy file; pass its labels with --labels LABELS.npy\n")
    }
}

@Suite(.serialized)
struct RunDirectoryTests {
    @Test func configFileRecipeTrainsAndFlagsOverrideIt() throws {
        let result = try Binary.run(["train", "--config", "cluster/configs/xor.toml", "--no-gemm-limit"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.testAccuracy == 100)
        let unknown = try temporaryDirectory().appendingPathComponent("bad.toml")
        try Data("learning_rat = 0.1\n".utf8).write(to: unknown)
        let bad = try Binary.run(["train", "--config", unknown.path])
        #expect(bad.status == 64)
        #expect(bad.stderr == "dptrain: error: \(unknown.path): unknown key 'learning_rat'; did you mean 'learning-rate'?\n")
    }

    @Test func runDirectoryHoldsConfigMetricsEventsAndReport() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Binary.run([
            "train", "--train-limit", "1024", "--test-limit", "200", "--epochs", "2", "--run-dir", directory.path,
            "--health-every", "4", "--health-log", directory.path, "--no-gemm-limit",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        for name in ["config.toml", "metrics.jsonl", "metrics.csv", "report.html", "gradient-health.csv", "completed"] {
            #expect(files.contains(name), "\(name) in \(files)")
        }
        #expect(files.contains { $0.hasPrefix("events.out.tfevents.") })
        let csv = try String(contentsOf: directory.appendingPathComponent("metrics.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(lines.count == 3)  // header + 2 epochs
        let normColumn = try #require(lines[0].firstIndex(of: "grad_norm"))
        #expect(lines.dropFirst().allSatisfy { (Double($0[normColumn]) ?? 0) > 0 })
        let report = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains("<svg") && report.contains("Confusion matrix") && !report.contains("<script"))
        // The saved config reproduces the run.
        let again = try Binary.run(["train", "--config", directory.appendingPathComponent("config.toml").path,
                                    "--run-dir", directory.path + "-again"])
        defer { try? FileManager.default.removeItem(atPath: directory.path + "-again") }
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.fingerprint == result.fingerprint)
    }
}

@Suite(.serialized)
struct ExportTests {
    /// Train → checkpoint → `dptrain export` → onnxruntime gives what `dptrain predict` gives, to 1e-5.
    @Test(arguments: ["784-32:gelu-16:prelu-10:softmax", "784-32:relu:bn-16:tanh:bn:dropout(0.2)-10:softmax"])
    func onnxRuntimeAgreesWithPredict(model: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let runDirectory = directory.appendingPathComponent("run").path
        let trained = try Binary.run([
            "train", "--train-limit", "1024", "--test-limit", "100", "--epochs", "1", "--run-dir", runDirectory,
            "--model", model, "--no-gemm-limit",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = runDirectory + "/ckpt-00000008.safetensors"
        let onnx = directory.appendingPathComponent("model.onnx").path
        let exported = try Binary.run(["export", checkpoint, "--output", onnx])
        #expect(exported.status == 0, "\(exported.stderr)")
        // 20 input rows as .npy, written by numpy.
        let rows = directory.appendingPathComponent("rows.npy").path
        let make = try Binary.runCommand([
            "python3", "-c", "import numpy as np; np.save('\(rows)', np.random.default_rng(4).random((20, 784), dtype=np.float32))",
        ])
        #expect(make.status == 0, "\(make.stderr)")
        let predictions = directory.appendingPathComponent("predictions.csv").path
        let predicted = try Binary.run(["predict", checkpoint, "--input", rows, "--output", predictions])
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let compare = try Binary.runCommand([
            "python3", "-c", """
            import numpy as np, onnxruntime as ort
            x = np.load('\(rows)')
            y = ort.InferenceSession('\(onnx)').run(None, {'input': x})[0]
            ours = np.loadtxt('\(predictions)', delimiter=',', skiprows=1)[:, 1:11]
            print(float(np.abs(y - ours).max()))
            """,
        ])
        #expect(compare.status == 0, "\(compare.stderr)")
        let difference = try #require(Double(compare.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(difference <= 1e-5)
    }

    @Test func predictNamesAMissingCheckpoint() throws {
        let result = try Binary.run(["predict", "/nonexistent/ckpt.safetensors", "--dataset", "xor"])
        #expect(result.status == 66)
        #expect(result.stderr == "dptrain: error: /nonexistent/ckpt.safetensors: no such file; check the path\n")
    }
}

@Suite(.serialized)
struct EvaluateTests {
    @Test(arguments: [false, true])
    func evaluateReproducesTheTrainingRunsTestAccuracy(standardize: Bool) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trained = try Binary.run([
            "train", "--train-limit", "1024", "--epochs", "2", "--run-dir", directory.path, "--no-gemm-limit",
        ] + (standardize ? ["--standardize"] : []))
        #expect(trained.status == 0, "\(trained.stderr)")
        let accuracy = try #require(trained.testAccuracy)
        let result = try Binary.run(["evaluate", directory.path + "/ckpt-00000016.safetensors", "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("accuracy \(String(format: "%.2f", accuracy))%"), "\(result.stdout)")
        let matrix = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  T-shirt/top ") || $0.hasPrefix("  Ankle boot ") }
        #expect(matrix.count == 4)  // a confusion-matrix row and a precision/recall row each
    }
}
