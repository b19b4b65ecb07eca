// OptimizerError: what can be wrong with an optimizer configuration a user wrote.
//
// Every message is one line that names the optimizer, the field and the value,
// and says what range is accepted (DESIGN.md decision 8).

/// A user-caused problem with an optimizer name or its hyperparameters.
public enum OptimizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name is not one of `OptimizerConfig.validNames`.
    case unknownOptimizer(name: String)
    /// `parameter` of `optimizer` is `value`, outside what `requirement` states.
    case invalidParameter(optimizer: String, parameter: String, value: Float, requirement: String)

    /// One line naming the value and the accepted range.
    public var description: String {
        switch self {
        case .unknownOptimizer(let name):
            return "unknown optimizer '\(name)'; valid: \(OptimizerConfig.validNames.joined(separator: ", "))"
        case .invalidParameter(let optimizer, let parameter, let value, let requirement):
            return "\(optimizer) \(parameter) must be \(requirement), got \(value)"
        }
    }
}
