// Schedule names and every validation message word for word: bad ranges, and
// schedules that ask for more steps or epochs than the run has.

import Optimizers
import Testing

@Suite struct LearningRateScheduleValidationTests {
    typealias Kind = LearningRateSchedule.Kind

    @Test func unknownNameListsValidNames() {
        #expect(throws: HyperparameterError.unknownSchedule(name: "cosin")) {
            try Kind.named("cosin", totalSteps: 100, totalEpochs: 10)
        }
        #expect(
            hyperparameterMessage { _ = try Kind.named("cosin", totalSteps: 100, totalEpochs: 10) }
                == "unknown schedule 'cosin'; valid: constant, step, multistep, exponential, cosine, "
                + "cosine-restarts, onecycle, polynomial, linear, plateau")
    }

    @Test(arguments: [
        ("constant", Kind.constant),
        ("step", .step(stepSize: 30, gamma: 0.1)),
        ("multistep", .multiStep(milestones: [30, 80], gamma: 0.1)),
        ("exponential", .exponential(gamma: 0.95)),
        ("Cosine", .cosine(epochs: 40, minimumLearningRate: 0)),
        ("cosine-restarts", .cosineRestarts(firstCycleEpochs: 20, cycleMultiplier: 1, minimumLearningRate: 0)),
        ("onecycle", .oneCycle(totalSteps: 9_000, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4)),
        ("polynomial", .polynomial(totalSteps: 9_000, power: 1, endLearningRate: 0)),
        ("LINEAR", .linear(totalSteps: 9_000, endLearningRate: 0)),
        (
            "plateau",
            .plateau(
                ReduceOnPlateau(
                    mode: .minimize, factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minimumLearningRate: 0))
        ),
    ])
    func namesGiveDocumentedDefaultsThatFitTheRun(name: String, expected: Kind) throws {
        let kind = try Kind.named(name, totalSteps: 9_000, totalEpochs: 40)
        #expect(kind == expected)
        #expect(kind.name == name.lowercased())
        let schedule = LearningRateSchedule(baseLearningRate: 1e-3, kind: kind, warmup: .init(steps: 500))
        try schedule.validate(totalSteps: 9_000, totalEpochs: 40)
    }

    @Test func validNamesAreTheNamesOfTheKinds() throws {
        for name in Kind.validNames {
            #expect(try Kind.named(name, totalSteps: 10, totalEpochs: 2).name == name)
        }
    }

    @Test(arguments: [
        (LearningRateSchedule(baseLearningRate: -0.1), "constant baseLearningRate must be finite and > 0, got -0.1"),
        (
            LearningRateSchedule(baseLearningRate: 0, kind: .exponential(gamma: 0.9)),
            "exponential baseLearningRate must be finite and > 0, got 0.0"
        ),
        (
            LearningRateSchedule(baseLearningRate: .infinity),
            "constant baseLearningRate must be finite and > 0, got inf"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .step(stepSize: 0, gamma: 0.1)),
            "step stepSize must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .step(stepSize: 5, gamma: 0)),
            "step gamma must be finite and > 0, got 0.0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .multiStep(milestones: [30, 10], gamma: 0.1)),
            "multistep milestones must be increasing epochs >= 1, got [30, 10]"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .multiStep(milestones: [0, 10], gamma: 0.1)),
            "multistep milestones must be increasing epochs >= 1, got [0, 10]"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .multiStep(milestones: [10, 10], gamma: 0.1)),
            "multistep milestones must be increasing epochs >= 1, got [10, 10]"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .multiStep(milestones: [10], gamma: -0.5)),
            "multistep gamma must be finite and > 0, got -0.5"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .exponential(gamma: .nan)),
            "exponential gamma must be finite and > 0, got nan"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .cosine(epochs: 0, minimumLearningRate: 0)),
            "cosine epochs must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .cosine(epochs: 10, minimumLearningRate: -0.001)),
            "cosine minimumLearningRate must be finite and >= 0, got -0.001"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .cosineRestarts(firstCycleEpochs: 0, cycleMultiplier: 1, minimumLearningRate: 0)),
            "cosine-restarts firstCycleEpochs must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .cosineRestarts(firstCycleEpochs: 5, cycleMultiplier: 0, minimumLearningRate: 0)),
            "cosine-restarts cycleMultiplier must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .cosineRestarts(firstCycleEpochs: 5, cycleMultiplier: 2, minimumLearningRate: -1)),
            "cosine-restarts minimumLearningRate must be finite and >= 0, got -1.0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 0, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4)),
            "onecycle totalSteps must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 100, warmupFraction: 1, initialDivisor: 25, finalDivisor: 1e4)),
            "onecycle warmupFraction must be in (0, 1), got 1.0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 100, warmupFraction: 0, initialDivisor: 25, finalDivisor: 1e4)),
            "onecycle warmupFraction must be in (0, 1), got 0.0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 100, warmupFraction: 0.3, initialDivisor: 0, finalDivisor: 1e4)),
            "onecycle initialDivisor must be finite and > 0, got 0.0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 100, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: -1)),
            "onecycle finalDivisor must be finite and > 0, got -1.0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .polynomial(totalSteps: 0, power: 1, endLearningRate: 0)),
            "polynomial totalSteps must be >= 1, got 0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1, kind: .polynomial(totalSteps: 100, power: 0, endLearningRate: 0)),
            "polynomial power must be finite and > 0, got 0.0"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1, kind: .polynomial(totalSteps: 100, power: 2, endLearningRate: -0.1)),
            "polynomial endLearningRate must be finite and >= 0, got -0.1"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .linear(totalSteps: -5, endLearningRate: 0)),
            "linear totalSteps must be >= 1, got -5"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .linear(totalSteps: 5, endLearningRate: -1e-5)),
            "linear endLearningRate must be finite and >= 0, got -1e-05"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(factor: 1))),
            "plateau factor must be in (0, 1), got 1.0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(factor: 0))),
            "plateau factor must be in (0, 1), got 0.0"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(patience: -1))),
            "plateau patience must be >= 0, got -1"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(threshold: -1e-4))),
            "plateau threshold must be finite and >= 0, got -0.0001"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(cooldown: -2))),
            "plateau cooldown must be >= 0, got -2"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(ReduceOnPlateau(minimumLearningRate: -1e-6))),
            "plateau minimumLearningRate must be finite and >= 0, got -1e-06"
        ),
        (LearningRateSchedule(baseLearningRate: 0.1, warmup: .init(steps: 0)), "warmup steps must be >= 1, got 0"),
        (
            LearningRateSchedule(baseLearningRate: 0.1, warmup: .init(steps: 10, startFactor: 1.5)),
            "warmup startFactor must be in [0, 1], got 1.5"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, warmup: .init(steps: 10, startFactor: -0.1)),
            "warmup startFactor must be in [0, 1], got -0.1"
        ),
    ])
    func invalidHyperparameterGivesOneLineMessage(schedule: LearningRateSchedule, expected: String) {
        #expect(hyperparameterMessage { try schedule.validate() } == expected)
        // The run-length check reports the same problem first.
        #expect(hyperparameterMessage { try schedule.validate(totalSteps: 1_000_000, totalEpochs: 1_000) } == expected)
    }

    @Test(arguments: [
        (
            LearningRateSchedule(baseLearningRate: 0.1, warmup: .init(steps: 5000)),
            "--warmup-steps 5000 exceeds the run's 1000 steps"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1, kind: .cosine(epochs: 10, minimumLearningRate: 0), warmup: .init(steps: 1001)),
            "--warmup-steps 1001 exceeds the run's 1000 steps"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1,
                kind: .oneCycle(totalSteps: 5000, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4)),
            "onecycle totalSteps 5000 exceeds the run's 1000 steps"
        ),
        (
            LearningRateSchedule(
                baseLearningRate: 0.1, kind: .polynomial(totalSteps: 1001, power: 2, endLearningRate: 0)),
            "polynomial totalSteps 1001 exceeds the run's 1000 steps"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .linear(totalSteps: 2000, endLearningRate: 0)),
            "linear totalSteps 2000 exceeds the run's 1000 steps"
        ),
        (
            LearningRateSchedule(baseLearningRate: 0.1, kind: .cosine(epochs: 50, minimumLearningRate: 0)),
            "cosine epochs 50 exceeds the run's 10 epochs"
        ),
    ])
    func scheduleLongerThanTheRunIsRejected(schedule: LearningRateSchedule, expected: String) throws {
        try schedule.validate()
        #expect(hyperparameterMessage { try schedule.validate(totalSteps: 1000, totalEpochs: 10) } == expected)
    }

    @Test func scheduleExactlyAsLongAsTheRunIsAccepted() throws {
        let kinds: [Kind] = [
            .oneCycle(totalSteps: 1000, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4),
            .polynomial(totalSteps: 1000, power: 2, endLearningRate: 0), .linear(totalSteps: 1000, endLearningRate: 0),
            .cosine(epochs: 10, minimumLearningRate: 0),
            // Epoch schedules whose periods or milestones outlast the run are allowed: they just never get there.
            .step(stepSize: 30, gamma: 0.1), .multiStep(milestones: [30, 80], gamma: 0.1),
            .cosineRestarts(firstCycleEpochs: 20, cycleMultiplier: 2, minimumLearningRate: 0),
        ]
        for kind in kinds {
            try LearningRateSchedule(baseLearningRate: 0.1, kind: kind, warmup: .init(steps: 1000, startFactor: 1))
                .validate(totalSteps: 1000, totalEpochs: 10)
        }
    }
}
