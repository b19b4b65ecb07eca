// The reproducibility contract (DESIGN.md 3) across hosts: the same run on 2
// and 4 hosts, one rank each, ends with the single process's weights bit for
// bit. The hosts are network namespaces on this machine (cluster/netns/run.sh)
// whose ranks can only talk TCP over veth pairs, as between machines; the veth
// byte counters show that the gradients really went that way.

import Foundation
import Testing

@Suite(
    .serialized, .timeLimit(.minutes(10)),
    .enabled(
        if: NamespaceHosts.available,
        "needs root and network namespaces (ip netns): cluster/netns/hosts.sh check says what is missing"))
struct MultiHostTests {
    /// 200 steps of batch 128, micro-batch 32: the run of ReproducibilityTests.worldSizeDoesNotChangeTheWeights.
    static let run = [
        "train", "--train-limit", "25600", "--test-limit", "500", "--epochs", "1", "--batch-size", "128",
        "--micro-batch", "32", "--no-gemm-limit", "--threads", "1",
    ]
    static let steps = 25600 / 128

    @Test(arguments: [2, 4])
    func namespaceHostsReproduceTheSingleProcessWeights(hosts: Int) throws {
        let single = try Binary.run(Self.run, timeout: 240)
        #expect(single.status == 0, "\(single.stderr)")
        let reference = try #require(single.fingerprint)

        // 4 ranks on 2 cores, each collective over TCP: ~17 s alone, several times that while the
        // rest of the suite runs beside it.
        let result = try Binary.runScript(
            "cluster/netns/run.sh", ["\(hosts)", "--timeout", "420", "--binary", Binary.release.path, "--"] + Self.run,
            timeout: 480)
        #expect(result.status == 0, "\(hosts) hosts: \(result.stderr)")
        #expect(result.fingerprint == reference, "\(hosts) hosts")
        // Ranks on different hosts cannot share memory.
        #expect(result.stdout.contains("\(hosts) ranks × 1 thread (sums by messages), "), "\(result.stdout)")

        // Every allreduce of n floats over P ranks delivers at least (P - 1)/P · n floats to each
        // rank (Patarasuk & Yuan 2009), so at least (P - 1) · n in all; less would mean some went
        // through shared memory instead of the veths.
        let parameters = try #require(single.parameterCount)
        let sent = try #require(result.vethBytes, "no `veth bytes:` line in \(result.stdout)")
        #expect(sent >= (hosts - 1) * parameters * MemoryLayout<Float>.size * Self.steps, "\(sent) bytes")
    }
}

enum NamespaceHosts {
    /// Whether this process can make namespace hosts: root, iproute2 and netns support.
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        return (try? Binary.runScript("cluster/netns/hosts.sh", ["check"], timeout: 30))?.status == 0
    }()
}

extension RunResult {
    /// N from the header line's `..., N parameters, ...`.
    fileprivate var parameterCount: Int? {
        let fields = stdout.split(separator: "\n").lazy.flatMap { $0.split(separator: ", ") }
        guard let field = fields.first(where: { $0.hasSuffix(" parameters") }) else { return nil }
        return Int(field.dropLast(" parameters".count))
    }

    /// The total from run.sh's `veth bytes: N sent between ...` line.
    fileprivate var vethBytes: Int? {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("veth bytes: ") }) else { return nil }
        return Int(line.dropFirst("veth bytes: ".count).prefix { $0.isNumber })
    }
}
