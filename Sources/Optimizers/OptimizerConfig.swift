// OptimizerConfig: which optimizer, with which hyperparameters, as plain Codable data.
//
// The defaults are PyTorch's (torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad,
// https://pytorch.org/docs/stable/optim.html), and so are the accepted ranges,
// except that RMSprop's alpha must also be below 1 (alpha = 1 never updates the
// average). The learning rate is not part of the config: it comes from the
// schedule at every step and is an argument of `Optimizer.update`.

/// An optimizer and its hyperparameters; stored in run configs and checkpoints.
public enum OptimizerConfig: Codable, Sendable, Equatable {
    /// Stochastic gradient descent, with heavy-ball or Nesterov momentum when `momentum > 0`.
    case sgd(momentum: Float = 0, nesterov: Bool = false)
    /// Adam with bias correction; AMSGrad keeps the running maximum of the second moment.
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, amsgrad: Bool = false)
    /// Adam with decoupled weight decay: parameters shrink by `1 - lr·weightDecay` before each step.
    case adamW(
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 1e-2,
        amsgrad: Bool = false)
    /// RMSprop (uncentred), with a momentum buffer when `momentum > 0`.
    case rmsprop(alpha: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0)
    /// AdaGrad with the squared-gradient sum starting at `initialAccumulator`.
    case adagrad(epsilon: Float = 1e-10, initialAccumulator: Float = 0)

    /// The names `named(_:)` accepts, in the order error messages list them.
    public static let validNames = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]

    /// The optimizer called `name` (case-insensitive) with PyTorch's defaults;
    /// `momentum` and `nesterov` are SGD with momentum 0.9.
    public static func named(_ name: String) throws(OptimizerError) -> OptimizerConfig {
        switch name.lowercased() {
        case "sgd": return .sgd()
        case "momentum": return .sgd(momentum: 0.9)
        case "nesterov": return .sgd(momentum: 0.9, nesterov: true)
        case "adam": return .adam()
        case "adamw": return .adamW()
        case "rmsprop": return .rmsprop()
        case "adagrad": return .adagrad()
        default: throw .unknownOptimizer(name: name)
        }
    }

    /// PyTorch's default learning rate for this optimizer.
    public var defaultLearningRate: Float {
        switch self {
        case .sgd, .adam, .adamW: return 1e-3
        case .rmsprop, .adagrad: return 1e-2
        }
    }

    /// Throws the first hyperparameter outside its range: betas and alpha in [0, 1);
    /// epsilon, momentum, weight decay and the initial accumulator finite and >= 0;
    /// Nesterov only with momentum > 0.
    public func validate() throws(OptimizerError) {
        switch self {
        case .sgd(let momentum, let nesterov):
            try Self.requireNonNegative("sgd", "momentum", momentum)
            if nesterov && momentum == 0 {
                throw .invalidParameter(
                    optimizer: "sgd", parameter: "momentum", value: momentum, requirement: "> 0 with nesterov")
            }
        case .adam(let beta1, let beta2, let epsilon, _):
            try Self.requireUnitInterval("adam", "beta1", beta1)
            try Self.requireUnitInterval("adam", "beta2", beta2)
            try Self.requireNonNegative("adam", "epsilon", epsilon)
        case .adamW(let beta1, let beta2, let epsilon, let weightDecay, _):
            try Self.requireUnitInterval("adamw", "beta1", beta1)
            try Self.requireUnitInterval("adamw", "beta2", beta2)
            try Self.requireNonNegative("adamw", "epsilon", epsilon)
            try Self.requireNonNegative("adamw", "weightDecay", weightDecay)
        case .rmsprop(let alpha, let epsilon, let momentum):
            try Self.requireUnitInterval("rmsprop", "alpha", alpha)
            try Self.requireNonNegative("rmsprop", "epsilon", epsilon)
            try Self.requireNonNegative("rmsprop", "momentum", momentum)
        case .adagrad(let epsilon, let initialAccumulator):
            try Self.requireNonNegative("adagrad", "epsilon", epsilon)
            try Self.requireNonNegative("adagrad", "initialAccumulator", initialAccumulator)
        }
    }

    // Written as !(inside) so that NaN fails too.
    private static func requireUnitInterval(
        _ optimizer: String, _ parameter: String, _ value: Float
    ) throws(OptimizerError) {
        if !(value >= 0 && value < 1) {
            throw .invalidParameter(optimizer: optimizer, parameter: parameter, value: value, requirement: "in [0, 1)")
        }
    }

    private static func requireNonNegative(
        _ optimizer: String, _ parameter: String, _ value: Float
    ) throws(OptimizerError) {
        if !(value >= 0 && value.isFinite) {
            throw .invalidParameter(
                optimizer: optimizer, parameter: parameter, value: value, requirement: "finite and >= 0")
        }
    }
}
