// The transport chooser: it measures each way a window at a time, keeps the
// faster, tries the other again every `retryEvery` windows, and follows the
// machine when the faster way changes.

import Testing
@testable import Training

@Suite struct TransportChooserTests {
    /// Feeds `windows` windows of steps lasting `seconds(streaming)`; returns
    /// the way each window ran (true: streamed) and every proposal made.
    static func run(
        windows: Int, _ seconds: (_ streaming: Bool, _ window: Int) -> Double
    ) -> (ways: [Bool], proposals: Int) {
        var chooser = TransportChooser(streaming: true)
        var ways: [Bool] = []
        var proposals = 0
        for window in 0..<windows {
            let way = chooser.streaming
            ways.append(way)
            for step in 0..<TransportChooser.window {
                let proposal = chooser.record(seconds: seconds(way, window))
                if proposal != nil {
                    proposals += 1
                    #expect(step == TransportChooser.window - 1, "a proposal ends a window")
                    #expect(proposal == chooser.streaming)
                }
            }
        }
        return (ways, proposals)
    }

    @Test func keepsStreamingWhenItIsFasterAndRetriesTheCachesNowAndThen() {
        let (ways, _) = Self.run(windows: 40) { streaming, _ in streaming ? 1e-4 : 3e-4 }
        let cacheWindows = ways.indices.filter { !ways[$0] }
        // Window 1 tries the caches, then every 16th window after that try.
        #expect(cacheWindows == [1, 17, 33])
    }

    @Test func switchesToTheCachesWhenTheyAreFaster() {
        let (ways, _) = Self.run(windows: 40) { streaming, _ in streaming ? 3e-4 : 1e-4 }
        let streamWindows = ways.indices.filter { ways[$0] }
        #expect(streamWindows == [0, 17, 33])
    }

    @Test func followsTheMachineWhenTheFasterWayChanges() {
        // The caches are faster for 20 windows, then three times slower.
        let (ways, proposals) = Self.run(windows: 60) { streaming, window in
            let cacheFaster = window < 20
            return streaming == cacheFaster ? 3e-4 : 1e-4
        }
        #expect(ways[2..<17].allSatisfy { !$0 })
        // Streaming is tried at window 17 (slower then), and again at 33 (faster now) and
        // kept, but for the caches' retry at 49.
        let trace = ways.map { $0 ? "s" : "c" }.joined()
        #expect(ways.indices.filter { $0 >= 17 && ways[$0] } == [17] + Array(33..<49) + Array(50..<60), "\(trace)")
        #expect(proposals > 0)
    }
}
