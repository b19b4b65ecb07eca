// Agreement guards of a multi-rank job, on in-process ranks: the desync guard
// names the first rank whose parameters differ, preflight refuses ranks with a
// different config, and the watchdog fires when a phase overstays.

import Collective
import Engine
import Foundation
import Synchronization
import Testing
@testable import Training

@Suite struct DistributedGuardTests {
    @Test func desyncGuardNamesTheFirstDivergingRank() throws {
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            let data = syntheticDataset()
            let trainer = try Trainer(
                config: try smallConfig(), train: data, test: data, communicator: communicator,
                pool: ThreadPool(threadCount: 1))
            try trainer.verifySynchronized()  // equal after the start-up broadcast
            if communicator.rank >= 2 { trainer.parameters[5] += 1 }
            try trainer.verifySynchronized()
            return 0
        }
        for outcome in outcomes {
            #expect(throws: TrainingError.communication(
                "ranks diverged at step 0: rank 2's parameters differ from rank 0's; check that every rank runs the same binary on the same machine type")
            ) { try outcome.get() }
        }
    }

    @Test func preflightRefusesARankWithAnotherConfig() throws {
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            var config = try smallConfig()
            if communicator.rank == 1 { config.learningRate = 0.5 }
            return try Preflight.check(
                identity: Preflight.identity(config: config, data: "d"), communicator: communicator,
                threads: 1, localRanks: 2, cores: 2)
        }
        for outcome in outcomes {
            #expect(throws: TrainingError.invalidOption(
                "rank 1 was started with a different config than rank 0; start every rank with the same binary, options and data")
            ) { try outcome.get() }
        }
    }

    @Test func preflightWarnsWhenThreadsExceedTheCores() throws {
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            try Preflight.check(
                identity: Preflight.identity(config: try smallConfig(), data: "d"), communicator: communicator,
                threads: 2, localRanks: 2, cores: 2)
        }
        for outcome in outcomes {
            #expect(try outcome.get() == [
                "warning: 2 ranks × 2 threads on this node exceed its 2 cores; pass --threads 1 or start fewer ranks per node"
            ])
        }
    }

    @Test func watchdogAbortsAPhaseThatOverstays() async throws {
        let fired = Mutex<Int32?>(nil)
        let watchdog = Watchdog(rank: 3) { code in fired.withLock { $0 = code } }
        watchdog.arm("step 7", seconds: 0.1)
        try await Task.sleep(for: .milliseconds(600))
        #expect(fired.withLock { $0 } == Watchdog.exitCode)
        watchdog.stop()
    }

    @Test func disarmedWatchdogStaysQuiet() async throws {
        let fired = Mutex<Int32?>(nil)
        let watchdog = Watchdog(rank: 0) { code in fired.withLock { $0 = code } }
        watchdog.arm("step 1", seconds: 0.1)
        watchdog.disarm()
        try await Task.sleep(for: .milliseconds(400))
        #expect(fired.withLock { $0 } == nil)
        watchdog.stop()
    }

    @Test func keptLastBatchGivesTheSameWeightsOnEveryWorldSize() throws {
        var config = try smallConfig()  // 96 rows, batch 16 → use 90 rows: 5 full + 10
        config.lastBatch = .keep
        let reference = try Trainer(
            config: config, train: syntheticDataset(rows: 90), test: syntheticDataset(rows: 90),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        #expect(reference.stepsPerEpoch == 6)
        let expected = try reference.run().fingerprint
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            var config = try smallConfig()
            config.lastBatch = .keep
            let data = syntheticDataset(rows: 90)
            return try Trainer(
                config: config, train: data, test: data, communicator: communicator, pool: ThreadPool(threadCount: 1)
            ).run().fingerprint
        }
        for outcome in outcomes { #expect(try outcome.get() == expected) }

        config.lastBatch = .drop
        let dropped = try Trainer(
            config: config, train: syntheticDataset(rows: 90), test: syntheticDataset(rows: 90),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1)
        ).run().fingerprint
        #expect(dropped != expected)
    }
}
