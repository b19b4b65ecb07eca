// Activation kernels agree with the scalar value/derivative, stay finite at
// large |x|, and do not depend on the thread count; ColumnSums likewise.

import Engine
import Testing

@Suite("Activation kernels")
struct ActivationTests {
    static let all: [Activation] = [
        .identity, .sigmoid, .tanh, .relu, .leakyReLU(slope: 0.1), .prelu(initialSlope: 0.25), .elu(alpha: 0.5),
        .softplus, .gelu, .silu,
    ]

    /// z (m, n) with values spread over about [-4, 4], bias and per-column slopes.
    struct Operands {
        let m: Int
        let n: Int
        let z: FloatBuffer
        let bias: FloatBuffer
        let slopes: FloatBuffer

        init(m: Int, n: Int) {
            self.m = m
            self.n = n
            z = .random(count: m * n, seed: 3)
            for i in 0..<z.count { z.pointer[i] *= 4 }
            bias = .random(count: n, seed: 4)
            slopes = .random(count: n, seed: 5)
        }

        /// Runs the forward then the backward kernel; returns (z after bias, a, dz).
        func run(_ activation: Activation, threads: Int) -> (z: FloatBuffer, a: FloatBuffer, dz: FloatBuffer) {
            let pool = ThreadPool(threadCount: threads)
            defer { pool.shutdown() }
            let zOut = FloatBuffer(count: z.count)
            zOut.copy(from: z)
            let a = FloatBuffer(count: z.count)
            let dz = FloatBuffer.random(count: z.count, seed: 6)
            let slopePointer = activation.hasPerNeuronParameter ? UnsafePointer(slopes.pointer) : nil
            activation.forward(preActivation: Matrix(zOut, rows: m, columns: n), bias: bias.pointer,
                               output: Matrix(a, rows: m, columns: n), slopes: slopePointer, pool: pool)
            activation.backward(gradient: Matrix(dz, rows: m, columns: n), preActivation: Matrix(zOut, rows: m, columns: n),
                                output: Matrix(a, rows: m, columns: n), slopes: slopePointer, pool: pool)
            return (zOut, a, dz)
        }
    }

    @Test("forward adds the bias and applies value; backward multiplies by derivative", arguments: all)
    func kernelsAgreeWithScalarFunctions(activation: Activation) {
        let operands = Operands(m: 4, n: 7)
        let (z, a, dz) = operands.run(activation, threads: 1)
        let upstream = FloatBuffer.random(count: z.count, seed: 6)
        for i in 0..<operands.m {
            for j in 0..<operands.n {
                let index = i * operands.n + j
                let slope = operands.slopes.pointer[j]
                let expectedZ = operands.z.pointer[index] + operands.bias.pointer[j]
                #expect(z.pointer[index] == expectedZ)
                #expect(a.pointer[index] == activation.value(expectedZ, slope: slope))
                let derivative = activation.derivative(expectedZ, output: a.pointer[index], slope: slope)
                #expect(dz.pointer[index] == upstream.pointer[index] * derivative)
            }
        }
    }

    @Test("value and derivative stay finite at x = ±100", arguments: all)
    func valuesAreFiniteForLargeInputs(activation: Activation) {
        for x: Float in [-100, 100] {
            let a = activation.value(x, slope: 0.25)
            #expect(a.isFinite)
            #expect(activation.derivative(x, output: a, slope: 0.25).isFinite)
        }
    }

    @Test("kernels give the same bits for 1 and 3 threads", arguments: [Activation.gelu, .prelu(initialSlope: 0.25)])
    func kernelsAreIndependentOfThreadCount(activation: Activation) {
        // 16 Ki elements per task: 60 rows of 300 span four tasks.
        let operands = Operands(m: 60, n: 300)
        let one = operands.run(activation, threads: 1)
        let three = operands.run(activation, threads: 3)
        #expect(one.a.bits == three.a.bits)
        #expect(one.dz.bits == three.dz.bits)
    }
}

@Suite("ColumnSums")
struct ColumnSumsTests {
    @Test("column sums add rows in order and give the same bits for 1 and 3 threads")
    func columnSumsAreExactAndThreadIndependent() {
        let m = 5
        let n = 600  // three 256-column tasks
        let x = FloatBuffer.random(count: m * n, seed: 8)
        var results: [[UInt32]] = []
        for threads in [1, 3] {
            let pool = ThreadPool(threadCount: threads)
            let out = FloatBuffer(count: n)
            out.fill(.nan)
            ColumnSums.sum(Matrix(x, rows: m, columns: n), into: out.pointer, pool: pool)
            pool.shutdown()
            results.append(out.bits)
            for j in 0..<n {
                var expected: Float = 0
                for i in 0..<m { expected += x.pointer[i * n + j] }
                #expect(out.pointer[j] == expected)
            }
        }
        #expect(results[0] == results[1])
    }

    @Test("PReLU slope gradient sums z·g over the rows where z ≤ 0")
    func preluSlopeGradientSumsNonPositiveRows() {
        let z = FloatBuffer([1, -2, 0, -0.5, 3, -1])  // (3, 2)
        let g = FloatBuffer([10, 20, 30, 40, 50, 60])
        let out = FloatBuffer(count: 2)
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        ColumnSums.preluSlopeGradient(outputGradient: Matrix(g, rows: 3, columns: 2), preActivation: Matrix(z, rows: 3, columns: 2),
                                      into: out.pointer, pool: pool)
        // Column 0: only z = 0 counts (adding 0); column 1: −2·20 − 0.5·40 − 1·60.
        let expected: [Float] = [0, -120]
        #expect(out.array == expected)
    }
}
