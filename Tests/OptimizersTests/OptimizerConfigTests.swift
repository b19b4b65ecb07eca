// Tests of OptimizerConfig: names, PyTorch's defaults, every validation
// message word for word, and Codable round trips.

import Foundation
import Optimizers
import Testing

@Suite struct OptimizerConfigTests {
    @Test(arguments: [
        ("sgd", OptimizerConfig.sgd(momentum: 0, nesterov: false)),
        ("momentum", .sgd(momentum: 0.9, nesterov: false)),
        ("nesterov", .sgd(momentum: 0.9, nesterov: true)),
        ("adam", .adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, amsgrad: false)),
        ("AdamW", .adamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, amsgrad: false)),
        ("rmsprop", .rmsprop(alpha: 0.99, epsilon: 1e-8, momentum: 0)),
        ("adagrad", .adagrad(epsilon: 1e-10, initialAccumulator: 0)),
    ])
    func namesGivePyTorchDefaults(name: String, expected: OptimizerConfig) throws {
        let config = try OptimizerConfig.named(name)
        #expect(config == expected)
        try config.validate()
    }

    @Test func unknownNameListsValidNames() {
        #expect(throws: OptimizerError.unknownOptimizer(name: "adamm")) { try OptimizerConfig.named("adamm") }
        #expect(
            message { _ = try OptimizerConfig.named("adamm") }
                == "unknown optimizer 'adamm'; valid: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad")
    }

    @Test func defaultLearningRatesArePyTorchs() {
        #expect(OptimizerConfig.sgd().defaultLearningRate == 1e-3)
        #expect(OptimizerConfig.adam().defaultLearningRate == 1e-3)
        #expect(OptimizerConfig.adamW().defaultLearningRate == 1e-3)
        #expect(OptimizerConfig.rmsprop().defaultLearningRate == 1e-2)
        #expect(OptimizerConfig.adagrad().defaultLearningRate == 1e-2)
    }

    @Test(arguments: [
        (OptimizerConfig.sgd(momentum: -0.9), "sgd momentum must be finite and >= 0, got -0.9"),
        (.sgd(momentum: 0, nesterov: true), "sgd momentum must be > 0 with nesterov, got 0.0"),
        (.adam(beta1: 1), "adam beta1 must be in [0, 1), got 1.0"),
        (.adam(beta2: -0.1), "adam beta2 must be in [0, 1), got -0.1"),
        (.adam(epsilon: -1e-8), "adam epsilon must be finite and >= 0, got -1e-08"),
        (.adamW(beta1: 1.5), "adamw beta1 must be in [0, 1), got 1.5"),
        (.adamW(beta2: .nan), "adamw beta2 must be in [0, 1), got nan"),
        (.adamW(epsilon: .infinity), "adamw epsilon must be finite and >= 0, got inf"),
        (.adamW(weightDecay: -0.01), "adamw weightDecay must be finite and >= 0, got -0.01"),
        (.rmsprop(alpha: 1), "rmsprop alpha must be in [0, 1), got 1.0"),
        (.rmsprop(epsilon: -1), "rmsprop epsilon must be finite and >= 0, got -1.0"),
        (.rmsprop(momentum: -0.5), "rmsprop momentum must be finite and >= 0, got -0.5"),
        (.adagrad(epsilon: -1e-10), "adagrad epsilon must be finite and >= 0, got -1e-10"),
        (.adagrad(initialAccumulator: -0.1), "adagrad initialAccumulator must be finite and >= 0, got -0.1"),
    ])
    func invalidHyperparameterGivesOneLineMessage(config: OptimizerConfig, expected: String) {
        #expect(message { try config.validate() } == expected)
    }

    @Test(arguments: [
        OptimizerConfig.sgd(momentum: 0), .adam(beta1: 0, beta2: 0, epsilon: 0), .adamW(weightDecay: 0),
        .rmsprop(alpha: 0, epsilon: 0), .adagrad(epsilon: 0, initialAccumulator: 0),
    ])
    func boundaryValuesAreAccepted(config: OptimizerConfig) throws {
        try config.validate()
    }

    @Test(arguments: allConfigs)
    func codableRoundTripPreservesConfig(config: OptimizerConfig) throws {
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(OptimizerConfig.self, from: data) == config)
    }

    /// The description of the OptimizerError `body` throws, or nil when it does not throw.
    private func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as OptimizerError {
            return error.description
        } catch {
            return "not an OptimizerError: \(error)"
        }
    }
}
