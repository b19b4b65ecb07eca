// Parsing of the typed model spec (`784-256:relu-128:relu-10:softmax`).

import Engine

/// A model spec that does not parse; the message quotes the spec and the part at fault.
public struct ModelSpecError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ModelSpec {
    /// Activation names a spec accepts (the output layer takes a head name instead).
    public static let activationNames = [
        "relu", "sigmoid", "tanh", "leakyrelu(γ)", "prelu(γ)", "elu(γ)", "softplus", "gelu", "silu", "linear",
    ]

    /// Parses `INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD`.
    public init(parsing text: String) throws(ModelSpecError) {
        let spec = text.trimmingCharacters(in: " ")
        let tokens = spec.layerTokens()
        guard tokens.count >= 2 else {
            throw ModelSpecError("model spec '\(spec)': expected INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD, e.g. 784-256:relu-10:softmax")
        }
        guard let input = Int(tokens[0]), input > 0 else {
            throw ModelSpecError("model spec '\(spec)': input width '\(tokens[0])' must be a positive integer")
        }
        var layers: [LayerSpec] = []
        var head = OutputHead.linear
        for (index, token) in tokens.dropFirst().enumerated() {
            let isOutput = index == tokens.count - 2
            let pieces = token.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let width = Int(pieces[0]), width > 0 else {
                throw ModelSpecError("model spec '\(spec)': layer \(index + 1) width '\(pieces[0])' must be a positive integer")
            }
            let name = pieces.count > 1 ? pieces[1].lowercased() : "linear"
            if isOutput {
                guard let parsed = OutputHead(rawValue: name == "identity" ? "linear" : name) else {
                    throw ModelSpecError(
                        "model spec '\(spec)': the output layer's activation must be softmax, sigmoid or linear, got '\(name)'")
                }
                head = parsed
                layers.append(LayerSpec(width: width, activation: .identity))
            } else {
                guard let activation = ModelSpec.activation(named: name) else {
                    throw ModelSpecError(
                        "model spec '\(spec)': unknown activation '\(name)' in layer \(index + 1); valid: \(ModelSpec.activationNames.joined(separator: ", "))")
                }
                layers.append(LayerSpec(width: width, activation: activation))
            }
        }
        self.init(inputWidth: input, layers: layers, head: head)
    }

    /// The activation a spec name stands for, with its optional `(parameter)`.
    static func activation(named text: String) -> Activation? {
        var name = text
        var parameter: Float?
        if let open = text.firstIndex(of: "("), text.hasSuffix(")") {
            name = String(text[..<open])
            let inside = text[text.index(after: open)..<text.index(before: text.endIndex)]
            guard let value = Float(inside), value.isFinite else { return nil }
            parameter = value
        }
        switch (name, parameter) {
        case ("relu", nil): return .relu
        case ("sigmoid", nil): return .sigmoid
        case ("tanh", nil): return .tanh
        case ("softplus", nil): return .softplus
        case ("gelu", nil): return .gelu
        case ("silu", nil), ("swish", nil): return .silu
        case ("linear", nil), ("identity", nil): return .identity
        case ("leakyrelu", let slope): return .leakyReLU(slope: slope ?? 0.01)
        case ("prelu", let slope): return .prelu(initialSlope: slope ?? 0.25)
        case ("elu", let alpha): return .elu(alpha: alpha ?? 1)
        default: return nil
        }
    }
}

extension String {
    /// The spec cut at every '-' outside parentheses, so a parameter such as
    /// `leakyrelu(1e-2)` or `leakyrelu(-0.5)` stays in its layer's token.
    fileprivate func layerTokens() -> [String] {
        var tokens: [String] = []
        var current = ""
        var depth = 0
        for character in self {
            switch character {
            case "(": depth += 1
            case ")": depth = max(depth - 1, 0)
            case "-" where depth == 0:
                tokens.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        tokens.append(current)
        return tokens
    }

    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}
