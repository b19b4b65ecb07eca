// ModelSpec: parsing of the typed spec, its description, and every parse error's message.

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

    @Test("a spec survives a JSON round trip")
    func codableRoundTrip() throws {
        let spec = try ModelSpec(parsing: "784-256:prelu(0.2)-128:elu(0.5)-10:softmax")
        let data = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ModelSpec.self, from: data) == spec)
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
