// TransportChooser: how node-shared sums move values (`--shared-memory-transport
// adaptive`), chosen on rank 0 from the step times it sees and agreed at the
// step boundary. Both ways give the same bits; which is faster depends on the
// machine, and on a shared host it changes from minute to minute: reading
// lines another core has just written ran ~4× slower than memory in some
// periods here, and a little faster in others. So the chooser measures each
// way in windows of steps, keeps the faster, and tries the other again every
// few windows.

/// Rank 0's choice of transport, window by window.
struct TransportChooser {
    /// Steps per window.
    static let window = 32
    /// Windows between two tries of the way not in use.
    static let retryEvery = 16

    /// The way in use: true when streaming.
    private(set) var streaming: Bool
    /// The last window's mean step, in seconds, of each way (0: cache, 1: stream).
    private var means: (Double?, Double?) = (nil, nil)
    private var steps = 0
    private var seconds = 0.0
    private var windowsSinceTry = 0

    init(streaming: Bool) { self.streaming = streaming }

    /// Records one step's wall time; at the end of a window returns the
    /// way the next steps are to use if it differs, else nil.
    mutating func record(seconds stepSeconds: Double) -> Bool? {
        steps += 1
        seconds += stepSeconds
        guard steps == Self.window else { return nil }
        let mean = seconds / Double(steps)
        (steps, seconds) = (0, 0)
        if streaming { means.1 = mean } else { means.0 = mean }
        windowsSinceTry += 1
        let next: Bool
        if let other = streaming ? means.0 : means.1, windowsSinceTry < Self.retryEvery {
            // The faster of this window and the other way's last one.
            next = other < mean ? !streaming : streaming
        } else {
            // The other way, for a window.
            next = !streaming
            windowsSinceTry = 0
        }
        guard next != streaming else { return nil }
        streaming = next
        return next
    }
}
