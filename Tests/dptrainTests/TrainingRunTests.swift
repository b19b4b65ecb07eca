// Training outcomes of the release binary: XOR is learned exactly, and the
// default model reaches the accuracy the README promises.

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
