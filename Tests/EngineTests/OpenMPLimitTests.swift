// oneDNN threads inside every call unless OpenMP is limited in the calling
// thread; the limit is set once per thread, so a thread's first product must
// set it no matter which thread ran products before.

import CDNNL
import Engine
import Foundation
import Testing

@Suite struct OpenMPLimitTests {
    @Test("every thread that runs a product, a new one included, leaves OpenMP at one thread")
    func everyThreadIsLimited() throws {
        #expect(dpt_omp_max_threads() > 0, "libdnnl's OpenMP runtime is loaded")
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let a = FloatBuffer.random(count: 8 * 8, seed: 1), b = FloatBuffer.random(count: 8 * 8, seed: 2)
        let c = FloatBuffer(count: 8 * 8)
        nonisolated(unsafe) let product = {
            Gemm.multiply(Matrix(a, rows: 8, columns: 8), Matrix(b, rows: 8, columns: 8),
                          into: Matrix(c, rows: 8, columns: 8), pool: pool)
        }
        product()
        #expect(dpt_omp_max_threads() == 1)
        for _ in 0..<3 {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var limits: (before: Int32, after: Int32, again: Int32) = (0, 0, 0)
            let thread = Thread {
                limits.before = dpt_omp_max_threads()
                product()
                limits.after = dpt_omp_max_threads()
                product()
                limits.again = dpt_omp_max_threads()
                done.signal()
            }
            thread.start()
            done.wait()
            // A new thread starts at OpenMP's default (above one where there are cores to
            // spare), so the check below can tell a thread that was never limited.
            #expect(limits.before != 1 || ProcessInfo.processInfo.activeProcessorCount == 1)
            #expect(limits.after == 1)
            #expect(limits.again == 1)
        }
    }
}
