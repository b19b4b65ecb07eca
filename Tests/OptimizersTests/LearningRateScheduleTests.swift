// Every schedule kind over a few steps or epochs against PyTorch's recursive form
// (ReferenceSchedules.swift) or values worked out by hand, warmup composition, and
// saving and restoring a schedule's state mid-run.

import Foundation
import Optimizers
import Testing

@Suite struct LearningRateScheduleTests {
    /// Per-epoch reference rates repeated for each step of the epoch.
    func perStep(_ epochRates: [Double], stepsPerEpoch: Int) -> [Double] {
        epochRates.flatMap { Array(repeating: $0, count: stepsPerEpoch) }
    }

    @Test func constantKeepsTheBaseRate() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.05)
        #expect(rates(schedule, steps: 12, stepsPerEpoch: 5) == Array(repeating: 0.05, count: 12))
    }

    @Test func stepDecaysEveryStepSizeEpochs() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: .step(stepSize: 3, gamma: 0.3))
        let expected = ReferenceSchedules.stepLR(base: 0.1, stepSize: 3, gamma: 0.3, count: 10)
        #expect(
            relativeError(rates(schedule, steps: 20, stepsPerEpoch: 2), perStep(expected, stepsPerEpoch: 2)) < 1e-14)
        // By hand: epochs 0-2 at 0.1, 3-5 at 0.03, 6-8 at 0.009, 9 at 0.0027.
        #expect(
            relativeError([expected[2], expected[3], expected[8], expected[9]], [0.1, 0.03, 0.009, 0.0027]) < 1e-14)
    }

    @Test func multiStepDecaysAtEachMilestone() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.2, kind: .multiStep(milestones: [2, 5, 6], gamma: 0.1))
        let expected = ReferenceSchedules.multiStepLR(base: 0.2, milestones: [2, 5, 6], gamma: 0.1, count: 9)
        #expect(
            relativeError(rates(schedule, steps: 27, stepsPerEpoch: 3), perStep(expected, stepsPerEpoch: 3)) < 1e-14)
        #expect(relativeError(expected, [0.2, 0.2, 0.02, 0.02, 0.02, 0.002, 0.0002, 0.0002, 0.0002]) < 1e-14)
    }

    @Test func exponentialDecaysEveryEpoch() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: .exponential(gamma: 0.9))
        let expected = ReferenceSchedules.exponentialLR(base: 0.1, gamma: 0.9, count: 12)
        #expect(relativeError(rates(schedule, steps: 12), expected) < 1e-14)
    }

    @Test func cosineFollowsPyTorchIncludingPastTMax() {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1, kind: .cosine(epochs: 10, minimumLearningRate: 0.001))
        let expected = ReferenceSchedules.cosineAnnealingLR(base: 0.1, tMax: 10, etaMin: 0.001, count: 25)
        let actual = rates(schedule, steps: 50, stepsPerEpoch: 2)
        #expect(relativeError(actual, perStep(expected, stepsPerEpoch: 2)) < 1e-12)
        // Start, midpoint and end of the half cosine exactly; 2·T_max is back at the base.
        #expect(actual[0] == 0.1)
        #expect(abs(actual[10] - 0.0505) < 1e-17)
        #expect(actual[20] == 0.001)
        #expect(abs(actual[40] - 0.1) < 1e-16)
    }

    @Test(arguments: [(3, 2), (4, 1), (2, 3)])
    func cosineRestartsFollowPyTorch(firstCycle: Int, multiplier: Int) {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.05,
            kind: .cosineRestarts(firstCycleEpochs: firstCycle, cycleMultiplier: multiplier, minimumLearningRate: 0.005)
        )
        let expected = ReferenceSchedules.cosineWarmRestarts(
            base: 0.05, t0: firstCycle, tMult: multiplier, etaMin: 0.005, count: 40)
        #expect(relativeError(rates(schedule, steps: 40), expected) < 1e-15)
    }

    @Test func cosineRestartsRestartAtTheBaseRate() {
        // T_0 = 3, T_mult = 2: cycles of 3, 6, 12 epochs start at epochs 0, 3, 9, 21.
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.05,
            kind: .cosineRestarts(firstCycleEpochs: 3, cycleMultiplier: 2, minimumLearningRate: 0))
        let actual = rates(schedule, steps: 30)
        for restart in [0, 3, 9, 21] { #expect(actual[restart] == 0.05) }
        // Half-way through the 6-epoch cycle: half the base rate.
        #expect(abs(actual[6] - 0.025) < 1e-17)
        #expect(actual[2] < actual[1] && actual[1] < actual[0])
    }

    @Test(arguments: [(20, 0.3), (7, 0.25), (10, 0.5), (1000, 0.3)])
    func oneCycleFollowsPyTorch(totalSteps: Int, warmupFraction: Double) {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1,
            kind: .oneCycle(
                totalSteps: totalSteps, warmupFraction: warmupFraction, initialDivisor: 25, finalDivisor: 1e4))
        let expected = ReferenceSchedules.oneCycleLR(
            maxLR: 0.1, totalSteps: totalSteps, pctStart: warmupFraction, divFactor: 25, finalDivFactor: 1e4,
            count: totalSteps)
        #expect(relativeError(rates(schedule, steps: totalSteps), expected) < 1e-14)
    }

    @Test func oneCycleStartsLowPeaksAndEndsLower() {
        // 20 steps, pct_start 0.3: phase 1 ends at step 0.3·20 − 1 = 5.
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1,
            kind: .oneCycle(totalSteps: 20, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4))
        let actual = rates(schedule, steps: 25)
        #expect(relativeError([actual[0], actual[5], actual[19]], [0.004, 0.1, 4e-7]) < 1e-15)
        // Past the cycle the final rate holds.
        #expect(actual[20...].allSatisfy { $0 == actual[19] })
    }

    @Test(arguments: [2.0, 0.9, 1.0])
    func polynomialToZeroFollowsPyTorch(power: Double) {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1, kind: .polynomial(totalSteps: 8, power: power, endLearningRate: 0))
        let expected = ReferenceSchedules.polynomialLR(base: 0.1, totalIters: 8, power: power, count: 12)
        let actual = rates(schedule, steps: 12)
        #expect(relativeError(Array(actual[..<8]), Array(expected[..<8])) < 1e-13)
        #expect(actual[8...].allSatisfy { $0 == 0 })
        #expect(expected[8...].allSatisfy { $0 == 0 })
    }

    @Test func polynomialDecaysToTheEndRate() {
        // (1 − 0.1)·(1 − t/4)² + 0.1 for t = 0...4, then 0.1.
        let schedule = LearningRateSchedule(
            baseLearningRate: 1, kind: .polynomial(totalSteps: 4, power: 2, endLearningRate: 0.1))
        #expect(relativeError(rates(schedule, steps: 6), [1, 0.60625, 0.325, 0.15625, 0.1, 0.1]) < 1e-15)
    }

    @Test func linearDecaysToTheEndRate() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: .linear(totalSteps: 3, endLearningRate: 0.01))
        #expect(relativeError(rates(schedule, steps: 5), [0.1, 0.07, 0.04, 0.01, 0.01]) < 1e-14)
    }

    @Test func warmupFromZeroRampsLinearlyToTheBase() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.2, warmup: .init(steps: 4))
        #expect(relativeError(rates(schedule, steps: 7), [0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.2]) < 1e-15)
    }

    @Test func warmupWithStartFactorMatchesLinearLR() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.3, warmup: .init(steps: 5, startFactor: 0.25))
        let expected = ReferenceSchedules.linearLR(base: 0.3, startFactor: 0.25, totalIters: 5, count: 9)
        #expect(relativeError(rates(schedule, steps: 9), expected) < 1e-15)
    }

    @Test func warmupMultipliesAnEpochScheduleWithoutShiftingIt() {
        // 3 steps per epoch; the exponential schedule runs on its own epochs throughout.
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1, kind: .exponential(gamma: 0.5), warmup: .init(steps: 5, startFactor: 0.2))
        let factors = ReferenceSchedules.linearLR(base: 1, startFactor: 0.2, totalIters: 5, count: 12)
        let decay = perStep(ReferenceSchedules.exponentialLR(base: 0.1, gamma: 0.5, count: 4), stepsPerEpoch: 3)
        let expected = zip(factors, decay).map { $0 * $1 }
        let actual = rates(schedule, steps: 12, stepsPerEpoch: 3)
        #expect(relativeError(actual, expected) < 1e-15)
        // From step 5 on it is the wrapped schedule alone.
        let unwarmed = rates(
            LearningRateSchedule(baseLearningRate: 0.1, kind: .exponential(gamma: 0.5)), steps: 12, stepsPerEpoch: 3)
        #expect(Array(actual[5...]) == Array(unwarmed[5...]))
    }

    @Test func warmupComposesWithCosineRestarts() {
        // 2 steps per epoch, warmup over the first 3 steps, then cycles of 2, 4, 8 epochs.
        let kind = LearningRateSchedule.Kind.cosineRestarts(
            firstCycleEpochs: 2, cycleMultiplier: 2, minimumLearningRate: 0)
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: kind, warmup: .init(steps: 3))
        let cycle = perStep(
            ReferenceSchedules.cosineWarmRestarts(base: 0.1, t0: 2, tMult: 2, etaMin: 0, count: 14), stepsPerEpoch: 2)
        let factors = (0..<28).map { min(Double($0), 3) / 3 }
        #expect(
            relativeError(rates(schedule, steps: 28, stepsPerEpoch: 2), zip(factors, cycle).map { $0 * $1 }) < 1e-15)
    }

    @Test func kindsFollowPyTorchsStepOrEpochConvention() {
        let epochDriven: [LearningRateSchedule.Kind] = [
            .step(stepSize: 2, gamma: 0.5), .multiStep(milestones: [1], gamma: 0.5), .exponential(gamma: 0.9),
            .cosine(epochs: 4, minimumLearningRate: 0),
            .cosineRestarts(firstCycleEpochs: 2, cycleMultiplier: 1, minimumLearningRate: 0),
        ]
        let stepDriven: [LearningRateSchedule.Kind] = [
            .oneCycle(totalSteps: 10, warmupFraction: 0.3, initialDivisor: 25, finalDivisor: 1e4),
            .polynomial(totalSteps: 10, power: 2, endLearningRate: 0), .linear(totalSteps: 10, endLearningRate: 0),
        ]
        for kind in epochDriven {
            #expect(kind.isEpochDriven)
            let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: kind)
            let state = schedule.initialState()
            // Within an epoch the step does not matter; across epochs the rate changes.
            #expect(
                schedule.learningRate(step: 0, epoch: 1, state: state)
                    == schedule.learningRate(step: 7, epoch: 1, state: state))
            #expect(
                schedule.learningRate(step: 3, epoch: 0, state: state)
                    != schedule.learningRate(step: 3, epoch: 3, state: state))
        }
        for kind in stepDriven {
            #expect(!kind.isEpochDriven)
            let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: kind)
            let state = schedule.initialState()
            #expect(
                schedule.learningRate(step: 4, epoch: 0, state: state)
                    == schedule.learningRate(step: 4, epoch: 3, state: state))
            #expect(
                schedule.learningRate(step: 4, epoch: 0, state: state)
                    != schedule.learningRate(step: 5, epoch: 0, state: state))
        }
    }

    @Test func plateauScheduleTakesItsRateFromTheStateUnderWarmup() {
        let rule = ReduceOnPlateau(factor: 0.5, patience: 0)
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: .plateau(rule), warmup: .init(steps: 2))
        var state = schedule.initialState()
        #expect(state.plateau == ReduceOnPlateau.State(learningRate: 0.1))
        #expect(schedule.learningRate(step: 1, epoch: 0, state: state) == 0.05)
        schedule.observe(metric: 1.0, state: &state)
        schedule.observe(metric: 1.0, state: &state)  // no improvement, patience 0: halve
        #expect(schedule.learningRate(step: 2, epoch: 2, state: state) == 0.05)
        #expect(schedule.learningRate(step: 0, epoch: 0, state: state) == 0)
    }

    @Test func observeLeavesClosedFormStatesAlone() {
        let schedule = LearningRateSchedule(baseLearningRate: 0.1, kind: .exponential(gamma: 0.5))
        var state = schedule.initialState()
        schedule.observe(metric: 3, state: &state)
        #expect(state == LearningRateSchedule.State())
    }

    @Test func restoringSavedStateMidRunGivesTheIdenticalSequence() throws {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.1,
            kind: .plateau(
                ReduceOnPlateau(mode: .maximize, factor: 0.3, patience: 1, cooldown: 1, minimumLearningRate: 1e-3)),
            warmup: .init(steps: 4, startFactor: 0.1))
        let metrics = [0.5, 0.6, 0.6, 0.59, 0.61, 0.7, 0.69, 0.68, 0.68, 0.67, 0.66, 0.65, 0.64, 0.63]
        let stepsPerEpoch = 3
        // Runs epochs `epochs`, observing each epoch's metric, and returns the rate of every step.
        func run(_ schedule: LearningRateSchedule, _ state: inout LearningRateSchedule.State, epochs: Range<Int>)
            -> [Double]
        {
            var seen: [Double] = []
            for epoch in epochs {
                for step in epoch * stepsPerEpoch..<(epoch + 1) * stepsPerEpoch {
                    seen.append(schedule.learningRate(step: step, epoch: epoch, state: state))
                }
                schedule.observe(metric: metrics[epoch], state: &state)
            }
            return seen
        }
        var straightState = schedule.initialState()
        let straight = run(schedule, &straightState, epochs: 0..<metrics.count)

        var firstState = schedule.initialState()
        let first = run(schedule, &firstState, epochs: 0..<6)
        // What a checkpoint holds: the schedule and its state, as JSON.
        let savedSchedule = try JSONEncoder().encode(schedule)
        let savedState = try JSONEncoder().encode(firstState)
        let resumedSchedule = try JSONDecoder().decode(LearningRateSchedule.self, from: savedSchedule)
        var resumedState = try JSONDecoder().decode(LearningRateSchedule.State.self, from: savedState)
        #expect(resumedSchedule == schedule)
        #expect(resumedState == firstState)
        let rest = run(resumedSchedule, &resumedState, epochs: 6..<metrics.count)
        #expect((first + rest).map(\.bitPattern) == straight.map(\.bitPattern))
        #expect(resumedState == straightState)
        // The rate really moved, so the comparison is not trivial.
        #expect(Set(straight).count > 4)
    }

    @Test(arguments: [
        LearningRateSchedule.Kind.constant, .step(stepSize: 3, gamma: 0.5), .multiStep(milestones: [2, 7], gamma: 0.1),
        .exponential(gamma: 0.95), .cosine(epochs: 40, minimumLearningRate: 1e-5),
        .cosineRestarts(firstCycleEpochs: 5, cycleMultiplier: 2, minimumLearningRate: 0),
        .oneCycle(totalSteps: 900, warmupFraction: 0.25, initialDivisor: 10, finalDivisor: 100),
        .polynomial(totalSteps: 900, power: 0.9, endLearningRate: 1e-4), .linear(totalSteps: 900, endLearningRate: 0),
        .plateau(
            ReduceOnPlateau(
                mode: .maximize, factor: 0.2, patience: 3, threshold: 1e-3, cooldown: 2, minimumLearningRate: 1e-6)),
    ])
    func codableRoundTripPreservesSchedule(kind: LearningRateSchedule.Kind) throws {
        let schedule = LearningRateSchedule(
            baseLearningRate: 0.01, kind: kind, warmup: .init(steps: 100, startFactor: 0.1))
        let data = try JSONEncoder().encode(schedule)
        #expect(try JSONDecoder().decode(LearningRateSchedule.self, from: data) == schedule)
    }
}
