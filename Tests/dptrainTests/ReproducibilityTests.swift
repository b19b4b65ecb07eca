// The bitwise reproducibility contract (DESIGN.md 3), end to end on the
// release binary: the SHA-256 of the final weights does not depend on the
// thread count or on the world size (with the same global batch and micro-batch).

import Foundation
import Testing

@Suite(.serialized)
struct ReproducibilityTests {
    /// A short Fashion-MNIST run: 20 steps of batch 128 on the first 2560 rows.
    static let shortRun = [
        "train", "--train-limit", "2560", "--test-limit", "500", "--epochs", "1", "--batch-size", "128", "--no-gemm-limit",
    ]

    @Test(arguments: [nil, 32] as [Int?])
    func threadCountDoesNotChangeTheWeights(microBatch: Int?) throws {
        let extra = microBatch.map { ["--micro-batch", "\($0)"] } ?? []
        let one = try Binary.run(Self.shortRun + extra + ["--threads", "1"])
        let two = try Binary.run(Self.shortRun + extra + ["--threads", "2"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(two.status == 0, "\(two.stderr)")
        #expect(one.fingerprint != nil)
        #expect(one.fingerprint == two.fingerprint)
    }

    @Test func microBatchSizeIsPartOfTheResult() throws {
        let whole = try Binary.run(Self.shortRun)
        let split = try Binary.run(Self.shortRun + ["--micro-batch", "32"])
        #expect(whole.fingerprint != nil && split.fingerprint != nil)
        #expect(whole.fingerprint != split.fingerprint)
    }

    /// 200 steps of batch 128, micro-batch 32: ranks 1, 2, 4 and 2 × 2 threads agree bit for bit,
    /// summed through shared memory or by messages.
    @Test func worldSizeDoesNotChangeTheWeights() throws {
        let run = [
            "train", "--train-limit", "25600", "--test-limit", "500", "--epochs", "1", "--batch-size", "128",
            "--micro-batch", "32", "--no-gemm-limit",
        ]
        let single = try Binary.run(run + ["--threads", "1"], ranks: 1)
        #expect(single.status == 0, "\(single.stderr)")
        let reference = try #require(single.fingerprint)
        // Ranks on one node sum in shared memory (streamed or through the caches, or
        // switching between them by the step times); --no-shared-memory sends messages.
        let transports = [["--shared-memory-transport", "stream"], ["--shared-memory-transport", "cache"]]
        for (ranks, threads, extra) in [(2, 1, []), (4, 1, []), (2, 2, []), (2, 1, ["--no-shared-memory"])]
            + transports.flatMap({ [(2, 1, $0), (4, 1, $0)] }) {
            let result = try Binary.run(run + ["--threads", "\(threads)"] + extra, ranks: ranks)
            #expect(result.status == 0, "\(ranks) ranks: \(result.stderr)")
            #expect(result.fingerprint == reference, "\(ranks) ranks × \(threads) threads \(extra)")
        }
        let plain = try Binary.run(run + ["--threads", "1"])
        #expect(plain.fingerprint == reference, "without mpiexec")
    }
}

extension ReproducibilityTests {
    /// Steps whose update needs the whole gradient (clipping by the global norm, max-norm) sum
    /// it whole every step — through shared memory or by messages — with batch norm's
    /// statistics summed beside it: 1, 2 and 4 ranks agree bit for bit.
    @Test func wholeGradientStepsAgreeAcrossWorldSizes() throws {
        let run = [
            "train", "--train-limit", "5120", "--test-limit", "200", "--epochs", "1", "--batch-size", "128",
            "--micro-batch", "32", "--model", "784-64:relu:bn-32:prelu:dropout(0.2)-10:softmax", "--clip-norm", "1",
            "--max-norm", "3", "--no-gemm-limit", "--threads", "1",
        ]
        let single = try Binary.run(run, ranks: 1, timeout: 120)
        #expect(single.status == 0, "\(single.stderr)")
        let reference = try #require(single.fingerprint)
        for (ranks, extra) in [(2, []), (4, []), (2, ["--no-shared-memory"]), (2, ["--shared-memory-transport", "cache"]),
                               (4, ["--shared-memory-transport", "stream"])] {
            let result = try Binary.run(run + extra, ranks: ranks, timeout: 120)
            #expect(result.status == 0, "\(ranks) ranks: \(result.stderr)")
            #expect(result.fingerprint == reference, "\(ranks) ranks \(extra)")
        }
    }
}

@Suite(.serialized)
struct DistributedStartTests {
    static let short = ["--train-limit", "512", "--test-limit", "100", "--epochs", "1", "--threads", "1", "--no-gemm-limit"]

    @Test func ranksStartedWithDifferentOptionsAreRefused() throws {
        let binary = Binary.release.path
        let result = try Binary.runCommand(
            ["mpiexec", "-n", "1", binary, "train"] + Self.short + ["--seed", "1", ":",
             "-n", "1", binary, "train"] + Self.short + ["--seed", "2"], timeout: 120)
        #expect(result.status != 0)
        #expect(result.stderr.contains(
            "dptrain: error: rank 1 was started with a different config than rank 0; start every rank with the same binary, options and data\n"))
    }

    /// Shared memory is used only when every rank asks for it: a rank started
    /// with --no-shared-memory makes the job sum by messages, with the same bits.
    @Test func ranksDisagreeingOnSharedMemorySumByMessagesWithTheSameBits() throws {
        let binary = Binary.release.path
        let arguments = ["train", "--batch-size", "64", "--micro-batch", "16"] + Self.short
        let mixed = try Binary.runCommand(
            ["mpiexec", "-n", "1", binary] + arguments + [":", "-n", "1", binary] + arguments + ["--no-shared-memory"],
            timeout: 120)
        let shared = try Binary.run(arguments, ranks: 2, timeout: 120)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(shared.status == 0, "\(shared.stderr)")
        #expect(mixed.fingerprint != nil)
        #expect(mixed.fingerprint == shared.fingerprint)
    }

    /// Ranks asking for different shared-memory transports all read through
    /// the caches: the job runs, with the same bits.
    @Test func ranksDisagreeingOnTheTransportAgreeOnOne() throws {
        let binary = Binary.release.path
        let arguments = ["train", "--batch-size", "64", "--micro-batch", "16"] + Self.short
        let mixed = try Binary.runCommand(
            ["mpiexec", "-n", "1", binary] + arguments + ["--shared-memory-transport", "stream", ":", "-n", "1", binary]
                + arguments + ["--shared-memory-transport", "adaptive"],
            timeout: 120)
        let alike = try Binary.run(arguments, ranks: 2, timeout: 120)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(mixed.fingerprint != nil)
        #expect(mixed.fingerprint == alike.fingerprint)
    }

    /// A rank whose oneDNN is limited to SSE4.1 kernels rounds like another
    /// machine type would: start-up names it in a warning, the job still runs,
    /// and its weights differ from those of ranks that compute alike.
    @Test func aRankThatRoundsOtherwiseIsNamedInAWarning() throws {
        let binary = Binary.release.path
        let arguments = ["train", "--batch-size", "64", "--micro-batch", "16"] + Self.short
        let mixed = try Binary.runCommand(
            ["mpiexec", "-n", "1", binary] + arguments
                + [":", "-n", "1", "-env", "DNNL_MAX_CPU_ISA", "SSE41", binary] + arguments,
            timeout: 120)
        let alike = try Binary.run(arguments, ranks: 2, timeout: 120)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(alike.status == 0, "\(alike.stderr)")
        #expect(mixed.stderr.contains(
            "dptrain: warning: rank 1 computes the model's gradients with other bits than rank 0 (another CPU type or library build); "
                + "the weights will depend on which ranks run where, and no run on other machines will repeat them bit for bit\n"),
            "\(mixed.stderr)")
        #expect(!alike.stderr.contains("warning"), "\(alike.stderr)")
        #expect(mixed.fingerprint != nil && alike.fingerprint != nil)
        #expect(mixed.fingerprint != alike.fingerprint)
    }

    /// A checkpoint records the numerics signature of the machine that wrote it: resuming
    /// where oneDNN runs other kernels warns that the run no longer repeats the original.
    @Test func resumingWhereTheKernelsRoundOtherwiseWarns() throws {
        let arguments = ["train"] + Self.short
        let warning = "was written on a machine that computes the model's gradients with other bits "
            + "(another CPU type or library build); the run goes on from it, but not bit for bit as it would have there\n"
        for limited in [false, true] {
            let directory = try temporaryDirectory().path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let first = try Binary.run(arguments + ["--run-dir", directory], timeout: 120)
            #expect(first.status == 0, "\(first.stderr)")
            let environment = limited ? ["env", "DNNL_MAX_CPU_ISA=SSE41"] : ["env"]
            let resumed = try Binary.runCommand(
                environment + [Binary.release.path] + arguments + ["--epochs", "2", "--run-dir", directory], timeout: 120)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stdout.contains("dptrain: resuming from \(directory)/ckpt-"), "\(resumed.stdout)")
            #expect(resumed.stderr.contains("dptrain: warning: \(directory)/ckpt-") == limited, "\(resumed.stderr)")
            #expect(resumed.stderr.contains(warning) == limited, "\(resumed.stderr)")
        }
    }

    @Test func mpiReductionRunsOnAnyWorldSizeDividingTheMicroBatches() throws {
        let result = try Binary.run(
            ["train", "--batch-size", "96", "--micro-batch", "32", "--reduction", "mpi"] + Self.short, ranks: 3, timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.fingerprint != nil)
    }

    @Test func deterministicReductionRefusesAWorldSizeThatIsNotAPowerOfTwo() throws {
        let result = try Binary.run(["train", "--batch-size", "96", "--micro-batch", "32"] + Self.short, ranks: 3, timeout: 120)
        #expect(result.status == 64)
        #expect(result.stderr.contains(
            "dptrain: error: world size 3 is not a power of two, which the deterministic reduction needs; valid world sizes: 1, or pass --reduction mpi\n"))
    }
}

extension ReproducibilityTests {
    /// Every smooth activation the C kernels compute in lanes, and dropout's masks drawn in
    /// lanes: 1 and 2 threads, 1, 2 and 4 ranks agree bit for bit.
    @Test func smoothActivationsAndDropoutAgreeAcrossThreadsAndWorldSizes() throws {
        let run = [
            "train", "--train-limit", "2560", "--test-limit", "200", "--epochs", "1", "--batch-size", "128",
            "--micro-batch", "32", "--no-gemm-limit", "--model",
            "784-64:tanh:dropout(0.2)-48:gelu-40:silu:dropout(0.1)-32:softplus-24:elu(0.5)-16:sigmoid-10:softmax",
        ]
        let single = try Binary.run(run + ["--threads", "1"], ranks: 1)
        #expect(single.status == 0, "\(single.stderr)")
        let reference = try #require(single.fingerprint)
        for (ranks, threads) in [(1, 2), (2, 1), (4, 1)] {
            let result = try Binary.run(run + ["--threads", "\(threads)"], ranks: ranks)
            #expect(result.status == 0, "\(ranks) ranks: \(result.stderr)")
            #expect(result.fingerprint == reference, "\(ranks) ranks × \(threads) threads")
        }
    }
}
