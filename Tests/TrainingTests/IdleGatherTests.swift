// A rank of one thread gathers its next micro-batch a row at a time while it
// waits for the others: the pieces and the rest must give the bytes of one
// whole gather, masked rows zero, and a dropped gather must write nothing more.

import Datasets
import Engine
import Testing
@testable import Training

@Suite struct IdleGatherTests {
    /// 5 rows of the synthetic data's 6 features, the last `5 − valid` masked.
    static let rows: [Int32] = [17, 3, 90, 42, 8]

    static func aimedJob(valid: Int, into destination: FloatBuffer) -> UnsafeMutablePointer<RowPrefetch> {
        let job = UnsafeMutablePointer<RowPrefetch>.allocate(capacity: 1)
        job.initialize(to: RowPrefetch(dataset: syntheticDataset(), destination: destination.pointer))
        job.pointee.rows = rows.withUnsafeBufferPointer { source in
            let copy = UnsafeMutableBufferPointer<Int32>.allocate(capacity: source.count)
            _ = copy.initialize(from: source)
            return UnsafeBufferPointer(copy)
        }
        job.pointee.valid = valid
        job.pointee.count = rows.count
        return job
    }

    static func release(_ job: UnsafeMutablePointer<RowPrefetch>) {
        job.pointee.rows.deallocate()
        job.deinitialize(count: 1)
        job.deallocate()
    }

    @Test("pieces, then the rest, give the whole gather's bytes", arguments: [0, 1, 2, 5, 9])
    func piecesThenRestEqualTheWholeGather(pieces: Int) {
        for valid in [5, 3, 0] {
            let whole = FloatBuffer(count: 30)
            whole.fill(.nan)
            let reference = Self.aimedJob(valid: valid, into: whole)
            defer { Self.release(reference) }
            for task in 0..<reference.pointee.tasks { reference.pointee.run(task) }

            let pieced = FloatBuffer(count: 30)
            pieced.fill(.nan)
            let job = Self.aimedJob(valid: valid, into: pieced)
            defer { Self.release(job) }
            let idle = IdleGather(job: job)
            #expect(!idle.runPiece(), "nothing to do before begin")
            idle.begin()
            var ran = 0
            for _ in 0..<pieces where idle.runPiece() { ran += 1 }
            #expect(ran == min(pieces, 5))
            #expect(pieced.array[(ran * 6)...].allSatisfy { $0.isNaN }, "a piece writes one row only")
            idle.finish()
            #expect(!idle.runPiece(), "nothing left after finish")
            #expect(pieced.array.map(\.bitPattern) == whole.array.map(\.bitPattern), "valid \(valid)")
            #expect(pieced.array[(valid * 6)...].allSatisfy { $0 == 0 }, "masked rows are zero")
        }
    }

    @Test func aCancelledGatherWritesNothingMore() {
        let buffer = FloatBuffer(count: 30)
        buffer.fill(.nan)
        let job = Self.aimedJob(valid: 5, into: buffer)
        defer { Self.release(job) }
        let idle = IdleGather(job: job)
        idle.begin()
        #expect(idle.runPiece())
        idle.cancel()
        #expect(!idle.runPiece())
        idle.finish()
        #expect(buffer.array[6...].allSatisfy { $0.isNaN })
        #expect(!buffer.array[..<6].contains { $0.isNaN })
    }
}
