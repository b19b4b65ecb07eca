// ModelSpec: parsing of the typed spec (layer options included), its
// description, the global dropout rate, validation, and every error's message.

import Engine
import Foundation
import Layers
import Testing

@Suite("ModelSpec")
struct ModelSpecTests {
    @Test("parses 784-256:relu-128:relu-10:softmax and prints it back")
    func parsesTheReferenceSpec() throws {
        let spec = try ModelSpec(parsing: "784-256:relu-128:relu-10:softmax")
        #expect(spec.inputWidth == 784)
        #expect(spec.layers == [
            LayerSpec(width: 256, activation: .relu), LayerSpec(width: 128, activation: .relu),
            LayerSpec(width: 10, activation: .identity),
        ])
        #expect(spec.head == .softmax)
        #expect(spec.outputWidth == 10)
        #expect(spec.description == "784-256:relu-128:relu-10:softmax")
    }

    @Test("parses each activation name and its parameter", arguments: [
        ("relu", Activation.relu), ("ReLU", .relu), ("sigmoid", .sigmoid), ("tanh", .tanh), ("softplus", .softplus),
        ("gelu", .gelu), ("silu", .silu), ("swish", .silu), ("linear", .identity), ("identity", .identity),
        ("leakyrelu", .leakyReLU(slope: 0.01)), ("leakyrelu(0.1)", .leakyReLU(slope: 0.1)),
        ("prelu", .prelu(initialSlope: 0.25)), ("prelu(0.3)", .prelu(initialSlope: 0.3)),
        ("elu", .elu(alpha: 1)), ("elu(0.5)", .elu(alpha: 0.5)),
    ])
    func parsesActivation(name: String, activation: Activation) throws {
        let spec = try ModelSpec(parsing: "8-4:\(name)-2:linear")
        #expect(spec.layers.first?.activation == activation)
    }

    @Test("a parameter may be written with an exponent or a minus sign", arguments: [
        ("leakyrelu(1e-2)", Activation.leakyReLU(slope: 0.01)), ("elu(2.5e-1)", .elu(alpha: 0.25)),
        ("leakyrelu(-0.5)", .leakyReLU(slope: -0.5)), ("prelu(1E-3)", .prelu(initialSlope: 0.001)),
    ])
    func parsesSignedAndExponentParameters(name: String, activation: Activation) throws {
        let spec = try ModelSpec(parsing: "784-256:\(name)-10:softmax")
        #expect(spec.layers.map(\.width) == [256, 10])
        #expect(spec.layers.first?.activation == activation)
    }

    @Test("a hidden layer without an activation is linear; the output names its head")
    func defaultsAndHeads() throws {
        let spec = try ModelSpec(parsing: " 6-5-4:sigmoid ")
        #expect(spec.layers == [LayerSpec(width: 5, activation: .identity), LayerSpec(width: 4, activation: .identity)])
        #expect(spec.head == .sigmoid)
        #expect(try ModelSpec(parsing: "6-4").head == .linear)
        #expect(try ModelSpec(parsing: "6-4:identity").head == .linear)
    }

    @Test("description parses back to the same spec", arguments: [
        ModelSpec(inputWidth: 3, layers: [LayerSpec(width: 2, activation: .identity)], head: .linear),
        ModelSpec(inputWidth: 784, layers: [
            LayerSpec(width: 300, activation: .leakyReLU(slope: 0.1)), LayerSpec(width: 100, activation: .prelu(initialSlope: 0.25)),
            LayerSpec(width: 50, activation: .elu(alpha: 0.5)), LayerSpec(width: 20, activation: .gelu),
            LayerSpec(width: 10, activation: .identity),
        ], head: .softmax),
        ModelSpec(inputWidth: 4, layers: [
            LayerSpec(width: 3, activation: .leakyReLU(slope: 1e-5)), LayerSpec(width: 1, activation: .identity),
        ], head: .sigmoid),
    ])
    func descriptionRoundTrips(spec: ModelSpec) throws {
        #expect(try ModelSpec(parsing: spec.description) == spec)
    }

    @Test("a spec survives a JSON round trip", arguments: [
        "784-256:prelu(0.2)-128:elu(0.5)-10:softmax", "784-256:relu:bn-128:relu:bn(0.2,0.001):dropout(0.3)-10:softmax",
    ])
    func codableRoundTrip(text: String) throws {
        let spec = try ModelSpec(parsing: text)
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ModelSpec.self, from: data) == spec)
    }

    @Test("a spec written before layer options existed still decodes, as plain layers")
    func olderJSONDecodes() throws {
        let json = #"{"inputWidth":3,"layers":[{"width":2,"activation":{"relu":{}}},{"width":1,"activation":{"identity":{}}}],"head":"sigmoid"}"#
        let spec = try JSONDecoder().decode(ModelSpec.self, from: Data(json.utf8))
        #expect(spec == (try ModelSpec(parsing: "3-2:relu-1:sigmoid")))
        // A plain layer is still written without the new keys.
        let written = String(decoding: try JSONEncoder().encode(spec.layers[0]), as: UTF8.self)
        #expect(!written.contains("dropout") && !written.contains("normalization"))
    }

    @Test("hidden layers take batch-norm and dropout options after their activation")
    func parsesLayerOptions() throws {
        let spec = try ModelSpec(parsing: "784-256:relu:bn-128:relu:dropout(0.2)-64:tanh:bn:dropout(0.3)-10:softmax")
        #expect(spec.layers == [
            LayerSpec(width: 256, activation: .relu, normalization: BatchNormalization()),
            LayerSpec(width: 128, activation: .relu, dropout: 0.2),
            LayerSpec(width: 64, activation: .tanh, normalization: BatchNormalization(), dropout: 0.3),
            LayerSpec(width: 10, activation: .identity),
        ])
        #expect(spec.usesBatchNormalization && spec.usesDropout)
        #expect(spec.description == "784-256:relu:bn-128:relu:dropout(0.2)-64:tanh:bn:dropout(0.3)-10:softmax")
        #expect(!(try ModelSpec(parsing: "784-256:relu-10:softmax")).usesBatchNormalization)
        #expect(!(try ModelSpec(parsing: "784-256:relu-10:softmax")).usesDropout)
    }

    @Test("options parse in any order and spelling; the description is canonical", arguments: [
        ("8-4:relu:dropout(0.5):bn-2:linear", "8-4:relu:bn:dropout(0.5)-2:linear"),
        ("8-4:ReLU:BatchNorm:Dropout(0.5)-2:linear", "8-4:relu:bn:dropout(0.5)-2:linear"),
        ("8-4:bn-2:linear", "8-4:linear:bn-2:linear"),
        ("8-4:dropout(0.1)-2:linear", "8-4:linear:dropout(0.1)-2:linear"),
        ("8-4:relu:bn(0.01)-2:linear", "8-4:relu:bn(0.01)-2:linear"),
        ("8-4:relu:bn(0.1, 1e-3)-2:linear", "8-4:relu:bn(0.1,0.001)-2:linear"),
        ("8-4:relu:bn(0.1,1e-5)-2:linear", "8-4:relu:bn-2:linear"),
        ("8-4:leakyrelu(-0.1):bn(0.5,1e-2):dropout(1e-1)-2:linear", "8-4:leakyrelu(-0.1):bn(0.5,0.01):dropout(0.1)-2:linear"),
        ("8-4:relu:dropout(0)-2:linear", "8-4:relu-2:linear"),
    ])
    func optionsAreCanonical(text: String, description: String) throws {
        #expect(try ModelSpec(parsing: text).description == description)
        #expect(try ModelSpec(parsing: description) == ModelSpec(parsing: text))
    }

    @Test("batch-norm momentum and ε are read as given")
    func batchNormParameters() throws {
        let spec = try ModelSpec(parsing: "8-4:relu:bn(0.3,0.002)-3:relu:bn(0.05)-2:linear")
        #expect(spec.layers[0].normalization == BatchNormalization(momentum: 0.3, epsilon: 0.002))
        #expect(spec.layers[1].normalization == BatchNormalization(momentum: 0.05, epsilon: 1e-5))
        #expect(BatchNormalization() == BatchNormalization(momentum: 0.1, epsilon: 1e-5))
    }

    @Test("withDropout sets the rate of every hidden layer without one, never the output layer's")
    func globalDropout() throws {
        let spec = try ModelSpec(parsing: "784-256:relu:bn-128:relu:dropout(0.5)-10:softmax").withDropout(0.2)
        #expect(spec.layers.map(\.dropout) == [0.2, 0.5, 0])
        #expect(spec.description == "784-256:relu:bn:dropout(0.2)-128:relu:dropout(0.5)-10:softmax")
        #expect(try ModelSpec(parsing: "6-4").withDropout(0.3) == ModelSpec(parsing: "6-4"))
        for rate: Float in [1, 1.5, -0.1, .nan] {
            #expect(throws: ModelSpecError(
                "model spec '784-256:relu-10:softmax': dropout rate \(rate) for the hidden layers must be in [0, 1)")) {
                try ModelSpec(parsing: "784-256:relu-10:softmax").withDropout(rate)
            }
        }
    }

    static let validOptions = "bn, bn(momentum), bn(momentum,epsilon), dropout(p)"

    @Test("each option error says exactly what is wrong", arguments: [
        ("784-256:relu:bn-128:relu:dropout(1.5)-10:softmax",
         "model spec '784-256:relu:bn-128:relu:dropout(1.5)-10:softmax': dropout rate 1.5 in layer 2 must be in [0, 1)"),
        ("784-256:relu:dropout(1)-10:softmax",
         "model spec '784-256:relu:dropout(1)-10:softmax': dropout rate 1 in layer 1 must be in [0, 1)"),
        ("784-256:relu:dropout(-0.2)-10:softmax",
         "model spec '784-256:relu:dropout(-0.2)-10:softmax': dropout rate -0.2 in layer 1 must be in [0, 1)"),
        ("784-256:relu:dropout(nan)-10:softmax",
         "model spec '784-256:relu:dropout(nan)-10:softmax': dropout rate nan in layer 1 must be in [0, 1)"),
        ("784-256:relu:dropout(abc)-10:softmax",
         "model spec '784-256:relu:dropout(abc)-10:softmax': dropout rate 'abc' in layer 1 must be a number in [0, 1)"),
        ("784-256:relu:dropout-10:softmax",
         "model spec '784-256:relu:dropout-10:softmax': dropout in layer 1 takes one rate, e.g. dropout(0.2), got 'dropout'"),
        ("784-256:relu:dropout(0.1,0.2)-10:softmax",
         "model spec '784-256:relu:dropout(0.1,0.2)-10:softmax': dropout in layer 1 takes one rate, e.g. dropout(0.2), got 'dropout(0.1,0.2)'"),
        ("784-256:relu:bn(1.5)-10:softmax",
         "model spec '784-256:relu:bn(1.5)-10:softmax': batch-norm momentum 1.5 in layer 1 must be in [0, 1]"),
        ("784-256:relu:bn(0.1,0)-10:softmax",
         "model spec '784-256:relu:bn(0.1,0)-10:softmax': batch-norm epsilon 0 in layer 1 must be positive"),
        ("784-256:relu:bn(0.1,x)-10:softmax",
         "model spec '784-256:relu:bn(0.1,x)-10:softmax': batch-norm parameter 'x' in layer 1 must be a number"),
        ("784-256:relu:bn(0.1,1e-5,3)-10:softmax",
         "model spec '784-256:relu:bn(0.1,1e-5,3)-10:softmax': bn in layer 1 takes at most two parameters, bn(momentum,epsilon), got 'bn(0.1,1e-5,3)'"),
        ("784-256:relu:bn:batchnorm-10:softmax",
         "model spec '784-256:relu:bn:batchnorm-10:softmax': option 'bn' appears twice in layer 1"),
        ("784-256:relu:dropout(0.1):dropout(0.2)-10:softmax",
         "model spec '784-256:relu:dropout(0.1):dropout(0.2)-10:softmax': option 'dropout' appears twice in layer 1"),
        ("784-256:relu:norm-10:softmax",
         "model spec '784-256:relu:norm-10:softmax': unknown option 'norm' in layer 1; valid: \(validOptions)"),
        ("784-256:bn:relu-10:softmax",
         "model spec '784-256:bn:relu-10:softmax': unknown option 'relu' in layer 1; valid: \(validOptions)"),
        ("784-256:relu:-10:softmax",
         "model spec '784-256:relu:-10:softmax': unknown option '' in layer 1; valid: \(validOptions)"),
        ("784-256:relu:dropout(0.2-10:softmax",
         "model spec '784-256:relu:dropout(0.2-10:softmax': unbalanced parentheses; write parameters as name(value), e.g. dropout(0.2)"),
        ("784-256:relu:dropout((0.2))-10:softmax",
         "model spec '784-256:relu:dropout((0.2))-10:softmax': unbalanced parentheses; write parameters as name(value), e.g. dropout(0.2)"),
        ("784-256:elu)-10:softmax",
         "model spec '784-256:elu)-10:softmax': unbalanced parentheses; write parameters as name(value), e.g. dropout(0.2)"),
        ("784-256:relu-10:softmax:dropout(0.2)",
         "model spec '784-256:relu-10:softmax:dropout(0.2)': the output layer takes no options, got 'dropout(0.2)'"),
        ("784-256:relu-10:softmax:bn",
         "model spec '784-256:relu-10:softmax:bn': the output layer takes no options, got 'bn'"),
        ("784-256:relu-10:bn",
         "model spec '784-256:relu-10:bn': the output layer's activation must be softmax, sigmoid or linear, got 'bn'"),
    ])
    func optionErrorsHaveExactMessages(text: String, message: String) {
        #expect(throws: ModelSpecError(message)) { try ModelSpec(parsing: text) }
    }

    @Test("validate rejects what the parser would, in a spec from elsewhere", arguments: [
        (ModelSpec(inputWidth: 4, layers: [LayerSpec(width: 3, activation: .relu, dropout: 1), LayerSpec(width: 2, activation: .identity)],
                   head: .linear),
         "model spec '4-3:relu:dropout(1.0)-2:linear': dropout rate 1.0 in layer 1 must be in [0, 1)"),
        (ModelSpec(inputWidth: 4, layers: [LayerSpec(width: 3, activation: .relu), LayerSpec(width: 2, activation: .identity, dropout: 0.5)],
                   head: .linear),
         "model spec '4-3:relu-2:linear:dropout(0.5)': the output layer takes no options, got 'dropout(0.5)'"),
        (ModelSpec(inputWidth: 4, layers: [LayerSpec(width: 2, activation: .identity, normalization: BatchNormalization())],
                   head: .linear),
         "model spec '4-2:linear:bn': the output layer takes no options, got 'bn'"),
        (ModelSpec(inputWidth: 4, layers: [
            LayerSpec(width: 3, activation: .relu, normalization: BatchNormalization(momentum: 2)),
            LayerSpec(width: 2, activation: .identity),
        ], head: .linear),
         "model spec '4-3:relu:bn(2.0)-2:linear': batch-norm momentum 2.0 in layer 1 must be in [0, 1]"),
        (ModelSpec(inputWidth: 4, layers: [
            LayerSpec(width: 3, activation: .relu, normalization: BatchNormalization(epsilon: -1)),
            LayerSpec(width: 2, activation: .identity),
        ], head: .linear),
         "model spec '4-3:relu:bn(0.1,-1.0)-2:linear': batch-norm epsilon -1.0 in layer 1 must be positive"),
        (ModelSpec(inputWidth: 4, layers: [], head: .linear),
         "model spec '4': expected INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD, e.g. 784-256:relu-10:softmax"),
        (ModelSpec(inputWidth: 4, layers: [LayerSpec(width: 0, activation: .identity)], head: .linear),
         "model spec '4-0:linear': layer 1 width '0' must be a positive integer"),
    ])
    func validateRejectsBadSpecs(spec: ModelSpec, message: String) {
        #expect(throws: ModelSpecError(message)) { try spec.validate() }
    }

    @Test("dropout is limited to the first 256 layers, which its masks can address")
    func dropoutLayerLimit() throws {
        let layers = Array(repeating: LayerSpec(width: 1, activation: .relu), count: 257)
        var spec = ModelSpec(inputWidth: 1, layers: layers + [LayerSpec(width: 1, activation: .identity)], head: .linear)
        spec.layers[255].dropout = 0.1
        try spec.validate()
        spec.layers[256].dropout = 0.1
        #expect(throws: ModelSpecError("model spec '\(spec)': dropout in layer 257: only the first 256 layers can have dropout")) {
            try spec.validate()
        }
    }

    static let validActivations = "relu, sigmoid, tanh, leakyrelu(γ), prelu(γ), elu(γ), softplus, gelu, silu, linear"

    @Test("each parse error says exactly what is wrong", arguments: [
        ("784", "model spec '784': expected INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD, e.g. 784-256:relu-10:softmax"),
        ("", "model spec '': expected INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD, e.g. 784-256:relu-10:softmax"),
        ("x-10:softmax", "model spec 'x-10:softmax': input width 'x' must be a positive integer"),
        ("0-10:softmax", "model spec '0-10:softmax': input width '0' must be a positive integer"),
        ("784-0:relu-10:softmax", "model spec '784-0:relu-10:softmax': layer 1 width '0' must be a positive integer"),
        ("784-256:relu-ten:softmax", "model spec '784-256:relu-ten:softmax': layer 2 width 'ten' must be a positive integer"),
        ("784--10:softmax", "model spec '784--10:softmax': layer 1 width '' must be a positive integer"),
        ("784-256:swishy-10:softmax",
         "model spec '784-256:swishy-10:softmax': unknown activation 'swishy' in layer 1; valid: \(validActivations)"),
        ("784-256:relu(0.1)-10:softmax",
         "model spec '784-256:relu(0.1)-10:softmax': unknown activation 'relu(0.1)' in layer 1; valid: \(validActivations)"),
        ("784-256:elu(abc)-10:softmax",
         "model spec '784-256:elu(abc)-10:softmax': unknown activation 'elu(abc)' in layer 1; valid: \(validActivations)"),
        ("784-256:relu-10:relu",
         "model spec '784-256:relu-10:relu': the output layer's activation must be softmax, sigmoid or linear, got 'relu'"),
        ("784-256:softmax-10:softmax",
         "model spec '784-256:softmax-10:softmax': unknown activation 'softmax' in layer 1; valid: \(validActivations)"),
    ])
    func parseErrorsHaveExactMessages(text: String, message: String) {
        #expect(throws: ModelSpecError(message)) { try ModelSpec(parsing: text) }
    }

    @Test("each head has its default loss and accepts only compatible losses")
    func headsAndLosses() {
        #expect(OutputHead.allCases.map(\.defaultLoss) == [.crossEntropy, .binaryCrossEntropy, .meanSquaredError])
        #expect(OutputHead.softmax.accepts(.crossEntropy) && !OutputHead.softmax.accepts(.meanSquaredError))
        #expect(OutputHead.sigmoid.accepts(.binaryCrossEntropy) && !OutputHead.sigmoid.accepts(.hinge))
        #expect(!OutputHead.linear.accepts(.crossEntropy) && !OutputHead.linear.accepts(.binaryCrossEntropy))
        #expect([Loss.meanSquaredError, .meanAbsoluteError, .huber(delta: 1), .smoothL1(beta: 1), .hinge, .multiclassHinge]
            .allSatisfy(OutputHead.linear.accepts))
    }
}
