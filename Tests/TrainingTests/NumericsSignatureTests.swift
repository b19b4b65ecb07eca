// The numerics signature (how a machine computes a micro-batch's gradient,
// bit for bit) and preflight's warning when ranks' signatures differ.

import Collective
import Engine
import Layers
import Testing
@testable import Training

@Suite struct NumericsSignatureTests {
    /// Models with several GEMM tiles and row blocks, every kind of loss target, batch norm and dropout.
    static let models: [(model: String, loss: Loss?)] = [
        ("40-300:relu-130:tanh-3:softmax", nil),
        ("40-160:elu:bn-2:linear", .meanSquaredError),
        ("40-140:prelu:dropout(0.3)-1:sigmoid", nil),
    ]

    static func config(_ model: String, loss: Loss? = nil, microBatch: Int = 32) throws -> TrainingConfig {
        TrainingConfig(
            model: try ModelSpec(parsing: model), loss: loss, epochs: 1, globalBatchSize: 64, microBatchSize: microBatch,
            optimizer: .adam(), learningRate: 0.01, seed: 1)
    }

    static func digest(_ config: TrainingConfig, threads: Int) -> String {
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        return NumericsSignature.digest(config: config, pool: pool)
    }

    @Test(arguments: models)
    func theSignatureIsTheSameForAnyThreadCount(model: String, loss: Loss?) throws {
        let config = try Self.config(model, loss: loss)
        let one = Self.digest(config, threads: 1)
        #expect(one.count == 64 && one.allSatisfy(\.isHexDigit))
        #expect(Self.digest(config, threads: 2) == one)
        #expect(Self.digest(config, threads: 3) == one)
        #expect(Self.digest(config, threads: 1) == one)
    }

    @Test func theSignatureFollowsTheModelAndTheMicroBatch() throws {
        let reference = Self.digest(try Self.config("40-300:relu-130:tanh-3:softmax"), threads: 1)
        #expect(Self.digest(try Self.config("40-300:relu-130:relu-3:softmax"), threads: 1) != reference)
        #expect(Self.digest(try Self.config("40-300:relu-130:tanh-3:softmax", microBatch: 16), threads: 1) != reference)
    }

    @Test func preflightWarnsOfTheFirstRankWhoseSignatureDiffers() throws {
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            try Preflight.numericsWarnings(signature: communicator.rank >= 2 ? "b" : "a", communicator: communicator)
        }
        for outcome in outcomes {
            #expect(try outcome.get() == [
                "warning: rank 2 computes the model's gradients with other bits than rank 0 (another CPU type or library build); "
                    + "the weights will depend on which ranks run where, and no run on other machines will repeat them bit for bit"
            ])
        }
    }

    @Test func preflightIsQuietWhenEveryRankComputesAlike() throws {
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            try Preflight.numericsWarnings(signature: "a", communicator: communicator)
        }
        for outcome in outcomes { #expect(try outcome.get() == []) }
    }
}
