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
        #expect(lines.filter { $0.hasPrefix("epoch ") && $0.contains("test loss") }.count == 2)
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
