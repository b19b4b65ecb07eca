// Start-up preflight of a multi-rank job: before any work, every rank checks
// that it runs the same binary version on the same config and data as rank 0,
// that a reduction works, and that its threads fit the node's cores. A job
// that cannot start says why instead of hanging (the watchdog bounds it).

import Collective
import Engine
import Foundation

public enum Preflight {
    /// The version every rank must share.
    public static let version = "dptrain 0.1.0"

    /// What rank 0 and every other rank must agree on: (field, value).
    public static func identity(config: TrainingConfig, data: String) -> [(field: String, value: String)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "\(config)"
        return [("binary version", version), ("config", json), ("training data", data)]
    }

    /// Runs the checks; returns warnings for rank 0 to print, throws when the job cannot start.
    public static func check(
        identity: [(field: String, value: String)], communicator: any Communicator,
        threads: Int, localRanks: Int, cores: Int
    ) throws(TrainingError) -> [String] {
        do {
            for (field, value) in identity {
                if let first = try firstRankDiffering(from: value, communicator: communicator) {
                    throw TrainingError.invalidOption(
                        "rank \(first) was started with a different \(field) than rank 0; start every rank with the same binary, options and data")
                }
            }
            var probe: [Float] = [Float(communicator.rank + 1)]
            try probe.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
            let size = communicator.size
            if probe[0] != Float(size * (size + 1) / 2) {
                throw TrainingError.communication(
                    "start-up test reduction over \(size) ranks gave \(probe[0]) instead of \(size * (size + 1) / 2)")
            }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .communication("start-up check failed: \(error)")
        }
        if localRanks > cores {
            return ["warning: \(localRanks) ranks on this node exceed its \(cores) cores; start at most \(cores) ranks per node"]
        }
        if localRanks * threads > cores {
            return [
                "warning: \(localRanks) rank\(localRanks == 1 ? "" : "s") × \(threads) threads on this node exceed its \(cores) cores; "
                    + "pass --threads \(max(1, cores / localRanks)) or start fewer ranks per node"
            ]
        }
        return []
    }

    /// A warning when some rank's numerics signature (`NumericsSignature`)
    /// differs from rank 0's: its machine rounds the model's gradient
    /// otherwise, so the weights would depend on which rank runs where.
    public static func numericsWarnings(signature: String, communicator: any Communicator) throws(TrainingError) -> [String] {
        let first: Int?
        do {
            first = try firstRankDiffering(from: signature, communicator: communicator)
        } catch {
            throw .communication("start-up check failed: \(error)")
        }
        guard let first else { return [] }
        return [
            "warning: rank \(first) computes the model's gradients with other bits than rank 0 "
                + "(another CPU type or library build); the weights will depend on which ranks run where, "
                + "and no run on other machines will repeat them bit for bit"
        ]
    }

    /// The lowest rank whose `value` differs from rank 0's, or nil (collective).
    private static func firstRankDiffering(from value: String, communicator: any Communicator) throws -> Int? {
        var digest = digestBytes(value)
        try digest.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        let differs = digest != digestBytes(value)
        let first = try communicator.allreduceMin(differs ? Int64(communicator.rank) : Int64.max)
        return first == Int64.max ? nil : Int(first)
    }

    private static func digestBytes(_ text: String) -> [UInt8] {
        var hasher = SHA256()
        Array(text.utf8).withUnsafeBytes { hasher.update($0) }
        let hex = Array(hasher.finalizeHex().utf8)
        return hex
    }
}
