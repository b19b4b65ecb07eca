// The checks every model spec must pass: the parser's, repeated for a spec
// that comes from a config file or a checkpoint, and the micro-batch size that
// batch normalization needs.

extension ModelSpec {
    /// Checks what the parser checks, for a spec that came from elsewhere (a
    /// config file, a checkpoint), and, given the micro-batch size, that batch
    /// normalization has at least 2 rows per micro-batch to take statistics over.
    public func validate(microBatchSize: Int? = nil) throws(ModelSpecError) {
        func fail(_ message: String) -> ModelSpecError { ModelSpecError("model spec '\(self)': \(message)") }
        guard inputWidth > 0 else { throw fail("input width '\(inputWidth)' must be a positive integer") }
        guard !layers.isEmpty else { throw fail("expected INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD, e.g. 784-256:relu-10:softmax") }
        for (index, layer) in layers.enumerated() {
            let number = index + 1
            guard layer.width > 0 else { throw fail("layer \(number) width '\(layer.width)' must be a positive integer") }
            if index == layers.count - 1 {
                if let normalization = layer.normalization {
                    throw fail("the output layer takes no options, got '\(normalization.specName)'")
                }
                if layer.dropout != 0 { throw fail("the output layer takes no options, got 'dropout(\(layer.dropout))'") }
                continue
            }
            if layer.dropout != 0 {
                guard layer.dropout > 0 && layer.dropout < 1 else {
                    throw fail("dropout rate \(layer.dropout) in layer \(number) must be in [0, 1)")
                }
                guard index < Dropout.layerLimit else {
                    throw fail("dropout in layer \(number): only the first \(Dropout.layerLimit) layers can have dropout")
                }
            }
            if let normalization = layer.normalization {
                guard normalization.momentum >= 0 && normalization.momentum <= 1 else {
                    throw fail("batch-norm momentum \(normalization.momentum) in layer \(number) must be in [0, 1]")
                }
                guard normalization.epsilon > 0 && normalization.epsilon.isFinite else {
                    throw fail("batch-norm epsilon \(normalization.epsilon) in layer \(number) must be positive")
                }
            }
        }
        if let microBatchSize, microBatchSize < 2, usesBatchNormalization {
            throw fail("batch normalization needs micro-batches of at least 2 rows, got \(microBatchSize)")
        }
    }
}
