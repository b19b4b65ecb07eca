// MonitorMode: whether a monitored validation metric should go down (a loss) or
// up (an accuracy), as `mode='min'` / `'max'` in PyTorch's ReduceLROnPlateau and
// Keras' EarlyStopping.

/// The direction in which a monitored metric improves.
public enum MonitorMode: String, Codable, Sendable, CaseIterable {
    /// Lower is better (`min`), e.g. validation loss.
    case minimize = "min"
    /// Higher is better (`max`), e.g. validation accuracy.
    case maximize = "max"
}
