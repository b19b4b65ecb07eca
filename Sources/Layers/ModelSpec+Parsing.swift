// Parsing of the typed model spec (`784-256:relu:bn-128:relu:dropout(0.2)-10:softmax`).

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
        var depth = 0
        for character in spec where character == "(" || character == ")" {
            depth += character == "(" ? 1 : -1
            if depth < 0 || depth > 1 { break }
        }
        guard depth == 0 else {
            throw ModelSpecError("model spec '\(spec)': unbalanced parentheses; write parameters as name(value), e.g. dropout(0.2)")
        }
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
            let pieces = token.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard let width = Int(pieces[0]), width > 0 else {
                throw ModelSpecError("model spec '\(spec)': layer \(index + 1) width '\(pieces[0])' must be a positive integer")
            }
            if isOutput {
                let name = pieces.count > 1 ? pieces[1].lowercased() : "linear"
                guard let parsed = OutputHead(rawValue: name == "identity" ? "linear" : name) else {
                    throw ModelSpecError(
                        "model spec '\(spec)': the output layer's activation must be softmax, sigmoid or linear, got '\(name)'")
                }
                if pieces.count > 2 {
                    throw ModelSpecError("model spec '\(spec)': the output layer takes no options, got '\(pieces[2])'")
                }
                head = parsed
                layers.append(LayerSpec(width: width, activation: .identity))
            } else {
                // The activation comes first and may be left out (linear) when options follow.
                var options = pieces.dropFirst().map { $0.lowercased() }
                var activation = Activation.identity
                if let name = options.first, !ModelSpec.isOption(name) {
                    guard let parsed = ModelSpec.activation(named: name) else {
                        throw ModelSpecError(
                            "model spec '\(spec)': unknown activation '\(name)' in layer \(index + 1); valid: \(ModelSpec.activationNames.joined(separator: ", "))")
                    }
                    activation = parsed
                    options.removeFirst()
                }
                var layer = LayerSpec(width: width, activation: activation)
                var seen: Set<String> = []
                for option in options {
                    let name = try ModelSpec.apply(option, to: &layer, layer: index + 1, spec: spec)
                    guard seen.insert(name).inserted else {
                        throw ModelSpecError("model spec '\(spec)': option '\(name)' appears twice in layer \(index + 1)")
                    }
                }
                layers.append(layer)
            }
        }
        self.init(inputWidth: input, layers: layers, head: head)
        try validate()
    }

    /// Option spellings a hidden layer accepts after its activation.
    public static let optionNames = ["bn", "bn(momentum)", "bn(momentum,epsilon)", "dropout(p)"]

    /// Whether a lowercased spec part names a layer option rather than an activation.
    static func isOption(_ text: String) -> Bool {
        let name = text.firstIndex(of: "(").map { String(text[..<$0]) } ?? text
        return name == "bn" || name == "batchnorm" || name == "dropout"
    }

    /// Applies option `text` (lowercased) to `layer`, which is layer `number`
    /// (1-based) of `spec`; returns the option's canonical name.
    static func apply(_ text: String, to layer: inout LayerSpec, layer number: Int, spec: String) throws(ModelSpecError) -> String {
        func fail(_ message: String) -> ModelSpecError { ModelSpecError("model spec '\(spec)': \(message)") }
        var name = text
        var arguments: [String]?
        if let open = text.firstIndex(of: "(") {
            guard text.hasSuffix(")") else {
                throw fail("unknown option '\(text)' in layer \(number); valid: \(optionNames.joined(separator: ", "))")
            }
            name = String(text[..<open])
            arguments = text[text.index(after: open)..<text.index(before: text.endIndex)]
                .split(separator: ",", omittingEmptySubsequences: false)
                .map { String($0).trimmingCharacters(in: " ") }
        }
        switch name {
        case "dropout":
            guard let arguments, arguments.count == 1 else {
                throw fail("dropout in layer \(number) takes one rate, e.g. dropout(0.2), got '\(text)'")
            }
            guard let rate = Float(arguments[0]) else {
                throw fail("dropout rate '\(arguments[0])' in layer \(number) must be a number in [0, 1)")
            }
            guard rate >= 0 && rate < 1 else {
                throw fail("dropout rate \(arguments[0]) in layer \(number) must be in [0, 1)")
            }
            layer.dropout = rate
            return "dropout"
        case "bn", "batchnorm":
            let values = arguments ?? []
            guard values.count <= 2 else {
                throw fail("bn in layer \(number) takes at most two parameters, bn(momentum,epsilon), got '\(text)'")
            }
            var numbers: [Float] = []
            for value in values {
                guard let number = Float(value) else {
                    throw fail("batch-norm parameter '\(value)' in layer \(number) must be a number")
                }
                numbers.append(number)
            }
            var normalization = BatchNormalization()
            if numbers.count > 0 {
                guard numbers[0] >= 0 && numbers[0] <= 1 else {
                    throw fail("batch-norm momentum \(values[0]) in layer \(number) must be in [0, 1]")
                }
                normalization.momentum = numbers[0]
            }
            if numbers.count > 1 {
                guard numbers[1] > 0 && numbers[1].isFinite else {
                    throw fail("batch-norm epsilon \(values[1]) in layer \(number) must be positive")
                }
                normalization.epsilon = numbers[1]
            }
            layer.normalization = normalization
            return "bn"
        default:
            throw fail("unknown option '\(text)' in layer \(number); valid: \(optionNames.joined(separator: ", "))")
        }
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
