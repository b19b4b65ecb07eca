// What report.html shows: plain records of a run, independent of the
// trainer's types (conversions from `EpochReport` and `HealthReport` below).

/// Everything `RunReport` draws.
public struct ReportData: Sendable, Codable {
    /// The page's heading, e.g. "dptrain: 784-256:relu-10:softmax on fashion-mnist".
    public var title: String
    /// Label–value pairs listed under the title (model, optimizer, seed, fingerprint, ...).
    public var facts: [Fact]
    /// One record per epoch, in order.
    public var epochs: [EpochPoint]
    /// Gradient-health rows: one per layer per logged step.
    public var health: [HealthPoint]
    /// Confusion matrix and per-class figures of the test split, for classification.
    public var classification: ClassificationMetrics?
    /// Names of the classes (index order); numbers are shown when nil or too short.
    public var classNames: [String]?

    public init(
        title: String, facts: [Fact] = [], epochs: [EpochPoint] = [], health: [HealthPoint] = [],
        classification: ClassificationMetrics? = nil, classNames: [String]? = nil
    ) {
        self.title = title
        self.facts = facts
        self.epochs = epochs
        self.health = health
        self.classification = classification
        self.classNames = classNames
    }

    /// A label and its value.
    public struct Fact: Sendable, Codable, Equatable {
        public var label: String
        public var value: String

        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }
}

/// The metrics of one epoch.
public struct EpochPoint: Sendable, Codable, Equatable {
    /// 1-based.
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double?
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// Learning rate of the epoch's last step.
    public var learningRate: Double
    /// Training samples per second.
    public var samplesPerSecond: Double?

    public init(
        epoch: Int, trainLoss: Double, trainAccuracy: Double? = nil, validationLoss: Double? = nil,
        validationAccuracy: Double? = nil, testLoss: Double? = nil, testAccuracy: Double? = nil,
        learningRate: Double, samplesPerSecond: Double? = nil
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.learningRate = learningRate
        self.samplesPerSecond = samplesPerSecond
    }

    /// The point of a trainer's epoch report.
    public init(_ report: EpochReport) {
        self.init(
            epoch: report.epoch, trainLoss: report.trainLoss, trainAccuracy: report.trainAccuracy,
            validationLoss: report.validationLoss, validationAccuracy: report.validationAccuracy,
            testLoss: report.testLoss, testAccuracy: report.testAccuracy, learningRate: Double(report.learningRate),
            samplesPerSecond: report.samplesPerSecond)
    }
}

/// One layer's gradient norm at one logged step.
public struct HealthPoint: Sendable, Codable, Equatable {
    public var step: Int
    /// 0-based index of the layer.
    public var layer: Int
    /// L2 norm of the layer's weight gradient.
    public var gradientNorm: Double

    public init(step: Int, layer: Int, gradientNorm: Double) {
        self.step = step
        self.layer = layer
        self.gradientNorm = gradientNorm
    }

    /// The points of one gradient-health report, one per layer.
    public static func points(of report: HealthReport) -> [HealthPoint] {
        report.layers.map { HealthPoint(step: report.step, layer: $0.layer, gradientNorm: $0.gradientNorm) }
    }
}
