// Every input a user can get wrong ends with one line on stderr that names
// the option, file or value, and a documented non-zero exit code — never a
// crash or a trap.

import Foundation
import Testing

@Suite(.serialized)
struct BadInputTests {
    static let quick = ["--train-limit", "256", "--test-limit", "100", "--epochs", "1", "--no-gemm-limit"]

    static let cases: [([String], Int32, String)] = [
        (["--model", "784-256:relu"], 64,
         "model spec '784-256:relu': the output layer's activation must be softmax, sigmoid or linear, got 'relu'"),
        (["--model", "784-x:relu-10:softmax"], 64,
         "model spec '784-x:relu-10:softmax': layer 1 width 'x' must be a positive integer"),
        (["--model", "784-10:foo-10:softmax"], 64,
         "model spec '784-10:foo-10:softmax': unknown activation 'foo' in layer 1; valid: relu, sigmoid, tanh, leakyrelu(γ), prelu(γ), elu(γ), softplus, gelu, silu, linear"),
        (["--model", "785-10:softmax"], 65,
         "model spec '785-10:softmax' takes 785 inputs but the training data fashion-mnist/train has 784 features per row"),
        (["--model", "784-3:softmax", "--batch-size", "16"], 65,
         "fashion-mnist/train has 10 classes but the model's output layer has 3 units"),
        (["--loss", "mse"], 64, "loss 'mse' does not fit the softmax output; use cross-entropy"),
        (["--loss", "foo"], 64,
         "unknown loss 'foo'; valid: cross-entropy, bce, mse, mae, huber, smooth-l1, hinge, multiclass-hinge"),
        (["--optimizer", "adamm"], 64,
         "unknown optimizer 'adamm'; valid: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad"),
        (["--batch-size", "100", "--micro-batch", "30"], 64, "--batch-size 100 is not a multiple of --micro-batch 30"),
        (["--batch-size", "0"], 64, "--batch-size must be positive, got 0"),
        (["--micro-batch=0"], 64, "--micro-batch must be positive, got 0"),
        (["--lr=-0.1"], 64, "--lr must be a positive number, got -0.1"),
        (["--lr", "0"], 64, "--lr must be a positive number, got 0.0"),
        (["--epochs", "0"], 64, "--epochs must be positive, got 0"),
        (["--threads", "0"], 64, "--threads must be positive, got 0"),
        (["--batch-size", "512"], 64, "--batch-size 512 is larger than the 256 training rows of fashion-mnist/train"),
        (["--schedule", "cosin"], 64,
         "unknown schedule 'cosin'; valid: constant, step, multistep, exponential, cosine, cosine-restarts, onecycle, polynomial, linear, plateau"),
        (["--warmup-steps", "5000"], 64, "--warmup-steps 5000 exceeds the run's 2 steps"),
        (["--schedule", "onecycle", "--pct-start", "1.5"], 64, "--pct-start must be in (0, 1), got 1.5"),
        (["--schedule", "plateau", "--patience=-1"], 64, "--patience must be zero or positive, got -1"),
        (["--early-stopping", "3"], 64, "--early-stopping needs validation data; pass --validation-split, e.g. 0.1"),
        (["--clip-norm", "1", "--clip-value", "1"], 64, "--clip-norm and --clip-value exclude each other; pass one"),
        (["--clip-norm", "0"], 64, "--clip-norm must be a positive number, got 0.0"),
        (["--weight-decay=-0.5"], 64, "--weight-decay must be zero or a positive number, got -0.5"),
        (["--validation-split", "1.5"], 64, "--validation-split must be in [0, 1), got 1.5"),
        (["--monitor", "auc"], 64, "--monitor 'auc': valid: loss, accuracy"),
        (["--beta1", "1.2"], 64, "--beta1 must be in [0, 1), got 1.2"),
        (["--beta2=-0.1"], 64, "--beta2 must be in [0, 1), got -0.1"),
        (["--optimizer", "nesterov", "--momentum=-1"], 64, "--momentum must be zero or a positive number, got -1.0"),
        (["--optimizer", "sgd", "--beta1", "0.5"], 64, "--beta1 does not apply to --optimizer sgd"),
        (["--epsilon", "0"], 64, "--epsilon must be a positive number, got 0.0"),
        (["--dataset", "datasets/xor.csv", "--model", "2-2:softmax", "--label-column", "target"], 65,
         "datasets/xor.csv: no label column \"target\" (columns: x1, x2, label); pass one of these names or a 0-based index below 3"),
        (["--log-level", "loud"], 64, "--log-level 'loud': valid: trace, debug, info, notice, warning, error, critical"),
        (["--shared-memory-transport", "fast"], 64, "--shared-memory-transport 'fast': valid: adaptive, stream, cache"),
        (["--dropout", "1.5"], 64,
         "model spec '784-256:relu-128:relu-10:softmax': dropout rate 1.5 for the hidden layers must be in [0, 1)"),
        (["--model", "784-256:relu:bn-10:softmax", "--last-batch", "keep"], 64,
         "--last-batch keep cannot be used with batch normalization (masked rows would enter the batch statistics); use --last-batch drop"),
        (["--dataset", "/nonexistent/data"], 66,
         "--dataset '/nonexistent/data': no such file or directory; use fashion-mnist, xor, a directory of IDX files or a .csv file"),
    ]

    @Test(arguments: cases)
    func badOptionGetsOneLineAndExitCode(arguments: [String], status: Int32, message: String) throws {
        let result = try Binary.run(["train"] + Self.quick + arguments)
        #expect(result.status == status)
        #expect(result.stderr == "dptrain: error: \(message)\n")
    }

    @Test func wrongIDXMagicIsNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("train-images-idx3-ubyte")
        try Data("not an idx file".utf8).write(to: file)
        let result = try Binary.run(["train", "--dataset", directory.path] + Self.quick)
        #expect(result.status == 65)
        #expect(result.stderr == "dptrain: error: \(file.path): wrong IDX magic number 0x6E6F7420 (expected 0x0000TTNN with TT = type 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32 or 0E float64 and NN = number of dimensions); is this an IDX file?\n")
    }

    @Test func truncatedGzipIsNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try Data(contentsOf: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        let file = directory.appendingPathComponent("train-images-idx3-ubyte.gz")
        try source.prefix(4000).write(to: file)
        let result = try Binary.run(["train", "--dataset", directory.path] + Self.quick)
        #expect(result.status == 65)
        #expect(result.stderr == "dptrain: error: \(file.path): gzip data ends early (the file is truncated); download or reinstall it\n")
    }

    @Test func headerSizesThatDoNotMatchTheFileAreNamed() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Magic 0x00000803 (uint8, 3 dimensions), 10 × 28 × 28, but only 100 pixel bytes.
        var bytes: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]
        bytes += [UInt8](repeating: 7, count: 100)
        let file = directory.appendingPathComponent("train-images-idx3-ubyte")
        try Data(bytes).write(to: file)
        let result = try Binary.run(["train", "--dataset", directory.path] + Self.quick)
        #expect(result.status == 65)
        #expect(result.stderr == "dptrain: error: \(file.path): IDX header describes 10x28x28 elements = 7856 bytes but the file has 116 bytes; the file is truncated or damaged, download or reinstall it\n")
    }

    @Test func worldSizeThatDoesNotDivideTheMicroBatchesIsRefusedBeforeAnyWork() throws {
        let result = try Binary.run(
            ["train", "--batch-size", "64", "--micro-batch", "32"] + Self.quick, ranks: 4, timeout: 120)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix(
            "dptrain: error: world size 4 does not divide the 2 micro-batches of a global batch (batch 64 / micro-batch 32); valid world sizes: 1, 2\n"))
    }
}
