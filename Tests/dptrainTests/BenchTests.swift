// `dptrain bench`: the report's fields and the relations between them (no
// timing assertions: speed is what the command measures, not what a test
// expects).

import Foundation
import Testing

@Suite(.serialized) struct BenchTests {
    static let small = [
        "bench", "--model", "32-16:relu-4:softmax", "--batch-size", "16", "--micro-batch", "4",
        "--steps", "10", "--warmup", "2", "--threads", "1", "--json",
    ]

    /// The JSON report of a small model, on `ranks` ranks (nil: without mpiexec).
    static func report(ranks: Int?, extra: [String] = []) throws -> [String: Any] {
        let result = try Binary.run(small + extra, ranks: ranks, timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last { $0.hasPrefix("{") })
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test(arguments: [nil, 2] as [Int?])
    func theReportHoldsTheLimitTheRatioAndTheSplitOfAStep(ranks: Int?) throws {
        let report = try Self.report(ranks: ranks)
        #expect(report["ranks"] as? Int == ranks ?? 1)
        #expect(report["threads"] as? Int == 1)
        #expect(report["steps"] as? Int == 10)
        #expect(report["model"] as? String == "32-16:relu-4:softmax")
        // Two ranks on this one machine share memory; one rank has nothing to share.
        #expect(report["nodeSharedMemory"] as? Bool == (ranks == 2))
        let median = try #require(report["medianStepSamplesPerSecond"] as? Double)
        let limit = try #require(report["limitSamplesPerSecond"] as? Double)
        let best = try #require(report["bestLimitSamplesPerSecond"] as? Double)
        let ratio = try #require(report["ratio"] as? Double)
        #expect(median > 0 && limit > 0)
        // The ratio is the median step against the median repetition, and the
        // best repetition is at least as fast as the median one.
        #expect(abs(ratio - median / limit) <= 1e-9 * ratio)
        #expect(best >= limit)
        let split = try #require(report["split"] as? [String: Double])
        #expect(Set(split.keys) == [
            "forward_gemm", "backward_gemm", "gemm_slowdown", "elementwise", "optimizer", "reduction", "waiting",
        ])
        #expect(split.values.allSatisfy { $0.isFinite })
        let forward = try #require(split["forward_gemm"])
        let backward = try #require(split["backward_gemm"])
        #expect(forward > 0 && backward > 0)
        let peak = try #require(report["peakResidentBytes"] as? Int)
        #expect(peak > 1 << 20)
        // The trainer's buffers: the arena, one gradient sum (the step's 4 micro-batches
        // per rank or fewer fit one block) and Adam's two states, each at least the 596
        // parameters, and on two ranks sharing memory the gradient's inbox; (2 warm-up + 10)
        // batches of 16 training rows and one of test rows, 32 features and a label each;
        // all of it, with the probe's, within the peak RSS.
        let memory = try #require(report["memory"] as? [String: Int])
        let buffers = try #require(memory["parameterBuffers"])
        let perBuffer = try #require(memory["bytesPerParameterBuffer"])
        let activations = try #require(memory["activationBytes"])
        let data = try #require(memory["dataBytes"])
        let probe = try #require(report["probeBytes"] as? Int)
        #expect(buffers == (ranks == 2 ? 5 : 4))
        #expect(perBuffer >= 4 * 596 && perBuffer % 4 == 0)
        #expect(data == 4 * 33 * (12 * 16 + 16))
        #expect(activations > 0 && probe > 0)
        #expect(peak > buffers * perBuffer + activations + data + probe)
        // The machine the figures belong to.
        #expect((report["cpu"] as? String)?.isEmpty == false)
        #expect((report["gemmInstructionSet"] as? String)?.isEmpty == false)
        #expect([16, 8, 1].contains(report["kernelLanes"] as? Int ?? 0))
    }

    @Test func theReportNamesOneDNNsInstructionSet() throws {
        // oneDNN limited to AVX2 kernels (every x86-64 CPU this runs on has them) reports so.
        let result = try Binary.runCommand(["env", "DNNL_MAX_CPU_ISA=AVX2", Binary.release.path] + Self.small, timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(report["gemmInstructionSet"] as? String == "avx2")
    }

    @Test func aLongRunCyclesOverBoundedDataInsteadOfBuildingItAll() throws {
        // 601 batches of 16384 rows would be 630 MB of synthetic data; the run
        // builds at most 65536 rows (4 batches, 4 MiB) and starts another
        // epoch over them every 4 steps.
        let result = try Binary.run(
            [
                "bench", "--model", "16-8:relu-2:softmax", "--batch-size", "16384", "--micro-batch", "16384",
                "--steps", "600", "--warmup", "1", "--threads", "1", "--json",
            ], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(report["steps"] as? Int == 600)
        let peak = try #require(report["peakResidentBytes"] as? Int)
        #expect(peak < 256 << 20, "peak RSS \(peak >> 20) MiB")
        // 65536 training rows and one batch of test rows, 16 features and a label each.
        let memory = try #require(report["memory"] as? [String: Int])
        #expect(memory["dataBytes"] == 4 * 17 * (65536 + 16384))
    }

    @Test func noSharedMemorySumsByMessages() throws {
        let report = try Self.report(ranks: 2, extra: ["--no-shared-memory"])
        #expect(report["ranks"] as? Int == 2)
        #expect(report["nodeSharedMemory"] as? Bool == false)
    }

    @Test func skippedSumsAreReportedAndUseNoSharedBuffers() throws {
        let skipped = try Self.report(ranks: 2, extra: ["--skip-sums"])
        #expect(skipped["sumsSkipped"] as? Bool == true)
        #expect(skipped["nodeSharedMemory"] as? Bool == false)
        #expect((skipped["ratio"] as? Double ?? 0) > 0)
        let summed = try Self.report(ranks: 2)
        #expect(summed["sumsSkipped"] as? Bool == false)
        let text = try Binary.run(Array(Self.small.dropLast()) + ["--skip-sums"], ranks: 2, timeout: 120)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.split(separator: "\n").first?.hasSuffix(
            "2 ranks × 1 thread  10 steps  sums skipped (diagnostic: the ranks train apart)") == true, "\(text.stdout)")
    }

    @Test func theTextReportNamesTheLimitAndTheRatio() throws {
        let result = try Binary.run(Array(Self.small.dropLast()), timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("bench 32-16:relu-4:softmax  B 16  m 4  1 rank × 1 thread  10 steps") == true,
                "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("samples/s ") && $0.contains("GEMM-bound limit") && $0.contains("ratio ") })
        #expect(lines.contains { $0.hasPrefix("per step (ms, rank 0): forward GEMM ") })
        #expect(lines.contains { $0.hasPrefix("memory (MiB): 4 parameter buffers × ") && $0.contains("  GEMM probe ") })
        #expect(lines.last?.hasPrefix("host ") == true && lines.last?.contains("  oneDNN ") == true, "\(result.stdout)")
    }
}
