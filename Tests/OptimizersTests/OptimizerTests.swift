// Tests of the Optimizer contract for every kind: agreement with the Double
// reference over several steps, state layout, step counting, bitwise
// independence from the thread count, and resuming from copied state.

import Engine
import Optimizers
import Testing

@Suite struct OptimizerTests {
    @Test(arguments: allConfigs)
    func fiveStepsMatchDoubleReference(config: OptimizerConfig) {
        let count = 37
        let start = initialParameters(count: count)
        let parameters = FloatBuffer(start)
        let optimizer = makeOptimizer(config, parameterCount: count)
        var reference = ReferenceOptimizer(config: config, parameters: start.map(Double.init))
        withPool(threadCount: 1) { pool in
            for step in 0..<5 {
                let g = gradients(count: count, step: step)
                let lr = learningRate(step: step)
                optimizer.update(parameters: parameters, gradients: FloatBuffer(g), learningRate: lr, pool: pool)
                reference.update(gradients: g.map(Double.init), learningRate: Double(lr))
            }
        }
        #expect(scaledError(parameters.array, reference.parameters) < 1e-5)
        #expect(optimizer.state.count == reference.state.count)
        for (buffer, expected) in zip(optimizer.state, reference.state) {
            #expect(scaledError(buffer.array, expected) < 1e-5)
        }
        // The parameters really moved, so the agreement is not trivial.
        #expect(scaledError(start, reference.parameters) > 1e-2)
    }

    @Test(arguments: [
        (OptimizerConfig.sgd(), 0),
        (.sgd(momentum: 0.9), 1),
        (.sgd(momentum: 0.9, nesterov: true), 1),
        (.adam(), 2),
        (.adam(amsgrad: true), 3),
        (.adamW(), 2),
        (.adamW(amsgrad: true), 3),
        (.rmsprop(), 1),
        (.rmsprop(momentum: 0.9), 2),
        (.adagrad(), 1),
    ])
    func stateHasDocumentedBufferCount(config: OptimizerConfig, buffers: Int) {
        let optimizer = makeOptimizer(config, parameterCount: 11)
        #expect(optimizer.state.count == buffers)
        #expect(optimizer.state.allSatisfy { $0.count == 11 })
        #expect(optimizer.stepCount == 0)
    }

    @Test func factoryBuildsAdamWAsAdamWithDecoupledDecay() throws {
        let adam = try #require(makeOptimizer(.adam(), parameterCount: 3) as? Adam)
        let adamW = try #require(makeOptimizer(.adamW(weightDecay: 0.05), parameterCount: 3) as? Adam)
        #expect(adam.weightDecay == 0)
        #expect(adamW.weightDecay == 0.05)
        #expect(makeOptimizer(.sgd(), parameterCount: 3) is SGD)
        #expect(makeOptimizer(.rmsprop(), parameterCount: 3) is RMSprop)
        #expect(makeOptimizer(.adagrad(), parameterCount: 3) is Adagrad)
    }

    @Test(arguments: allConfigs)
    func stepCountIncrementsOncePerUpdate(config: OptimizerConfig) {
        let optimizer = makeOptimizer(config, parameterCount: 5)
        let parameters = FloatBuffer(initialParameters(count: 5))
        withPool(threadCount: 1) { pool in
            for step in 1...3 {
                let g = FloatBuffer(gradients(count: 5, step: step))
                optimizer.update(parameters: parameters, gradients: g, learningRate: 0.01, pool: pool)
                #expect(optimizer.stepCount == step)
            }
        }
    }

    @Test(arguments: allConfigs)
    func resultIsBitwiseIdenticalForOneTwoAndThreeThreads(config: OptimizerConfig) {
        // 100_003 elements: seven ranges of the default 16_384-element grain, the last one short.
        let count = 100_003
        func run(threadCount: Int) -> [[UInt32]] {
            let parameters = FloatBuffer(initialParameters(count: count))
            let optimizer = makeOptimizer(config, parameterCount: count)
            withPool(threadCount: threadCount) { pool in
                for step in 0..<3 {
                    let g = FloatBuffer(gradients(count: count, step: step))
                    optimizer.update(
                        parameters: parameters, gradients: g, learningRate: learningRate(step: step), pool: pool)
                }
            }
            return [bits(parameters)] + optimizer.state.map(bits)
        }
        let single = run(threadCount: 1)
        #expect(run(threadCount: 2) == single)
        #expect(run(threadCount: 3) == single)
    }

    @Test(arguments: allConfigs)
    func resumingFromCopiedStateReproducesUninterruptedRun(config: OptimizerConfig) {
        let count = 37
        let g = (0..<5).map { FloatBuffer(gradients(count: count, step: $0)) }
        withPool(threadCount: 2) { pool in
            let straight = FloatBuffer(initialParameters(count: count))
            let uninterrupted = makeOptimizer(config, parameterCount: count)
            for step in 0..<5 {
                uninterrupted.update(
                    parameters: straight, gradients: g[step], learningRate: learningRate(step: step), pool: pool)
            }

            let before = FloatBuffer(initialParameters(count: count))
            let first = makeOptimizer(config, parameterCount: count)
            for step in 0..<2 {
                first.update(parameters: before, gradients: g[step], learningRate: learningRate(step: step), pool: pool)
            }
            // What a checkpoint holds: parameters, state buffers, step count.
            let resumedParameters = FloatBuffer(before.array)
            let resumed = makeOptimizer(config, parameterCount: count)
            for (target, saved) in zip(resumed.state, first.state) { target.copy(from: saved) }
            resumed.stepCount = first.stepCount
            for step in 2..<5 {
                resumed.update(
                    parameters: resumedParameters, gradients: g[step], learningRate: learningRate(step: step),
                    pool: pool)
            }
            #expect(bits(resumedParameters) == bits(straight))
            #expect(resumed.state.map(bits) == uninterrupted.state.map(bits))
            #expect(resumed.stepCount == 5)
        }
    }
}
