// HyperparameterError: what can be wrong with a learning-rate schedule, warmup,
// plateau rule, early-stopping rule, clipping, weight penalty or max-norm setting
// a user wrote.
//
// Every message is one line that names the setting, the field and the value, and
// says what is accepted (DESIGN.md decision 8). Optimizer hyperparameters have
// their own `OptimizerError`.

/// A user-caused problem with a schedule or regularization setting.
public enum HyperparameterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The schedule name is not one of `LearningRateSchedule.Kind.validNames`.
    case unknownSchedule(name: String)
    /// `parameter` of `setting` is `value`, outside what `requirement` states.
    case invalidParameter(setting: String, parameter: String, value: String, requirement: String)
    /// `setting` asks for `requested` steps or epochs (`unit`) and the run has only `available`.
    case exceedsRun(setting: String, requested: Int, available: Int, unit: String)

    /// One line naming the value and what is accepted.
    public var description: String {
        switch self {
        case .unknownSchedule(let name):
            return "unknown schedule '\(name)'; valid: "
                + LearningRateSchedule.Kind.validNames.joined(separator: ", ")
        case .invalidParameter(let setting, let parameter, let value, let requirement):
            return "\(setting) \(parameter) must be \(requirement), got \(value)"
        case .exceedsRun(let setting, let requested, let available, let unit):
            return "\(setting) \(requested) exceeds the run's \(available) \(unit)"
        }
    }
}

// Range checks shared by the settings of this module. Written as !(inside) so that NaN
// fails too; values print as their own type does, so Float 0.1 reads "0.1".
extension HyperparameterError {
    static func requirePositive(
        _ setting: String, _ parameter: String, _ value: some BinaryFloatingPoint
    ) throws(HyperparameterError) {
        if !(value > 0 && value.isFinite) {
            throw .invalidParameter(
                setting: setting, parameter: parameter, value: "\(value)", requirement: "finite and > 0")
        }
    }

    static func requireNonNegative(
        _ setting: String, _ parameter: String, _ value: some BinaryFloatingPoint
    ) throws(HyperparameterError) {
        if !(value >= 0 && value.isFinite) {
            throw .invalidParameter(
                setting: setting, parameter: parameter, value: "\(value)", requirement: "finite and >= 0")
        }
    }

    static func requireAtLeast(
        _ minimum: Int, _ setting: String, _ parameter: String, _ value: Int
    ) throws(HyperparameterError) {
        if value < minimum {
            throw .invalidParameter(
                setting: setting, parameter: parameter, value: "\(value)", requirement: ">= \(minimum)")
        }
    }

    static func requireOpenUnitInterval(
        _ setting: String, _ parameter: String, _ value: some BinaryFloatingPoint
    ) throws(HyperparameterError) {
        if !(value > 0 && value < 1) {
            throw .invalidParameter(setting: setting, parameter: parameter, value: "\(value)", requirement: "in (0, 1)")
        }
    }
}
