// Config files: the known options come from the Train command itself, a file's
// settings become flags that the command line overrides, every bad file gets
// its one-line message, and the resolved config reproduces the parse.

import ArgumentParser
import Foundation
import Testing
@testable import dptrain

@Suite struct ConfigFileTests {
    static let options = OptionInfo.options(of: Train.self)

    /// Writes `text` to a fresh `config.toml` and returns its path.
    static func file(_ text: String, name: String = "config.toml") throws -> String {
        let path = try temporaryDirectory().appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `dptrain train ARGUMENTS` after expansion, parsed as the CLI would.
    static func parse(_ arguments: [String]) throws -> Train {
        try Train.parse(ConfigFile.expand(arguments: arguments, knownOptions: options))
    }

    // MARK: - Known options

    @Test func everyLongOptionOfTheHelpIsKnown() {
        let help = Train.helpMessage(columns: 400)
        var flags = Set<String>()
        for word in help.split(whereSeparator: { " ,/[]()|<>\n".contains($0) }) where word.hasPrefix("--") {
            flags.insert(String(word.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" }))
        }
        flags.remove("help")
        let known = Set(Self.options.flatMap { $0.names + ($0.inversion.map { [$0] } ?? []) })
        #expect(!flags.isEmpty)
        #expect(flags.subtracting(known).isEmpty, "in --help but not known: \(flags.subtracting(known).sorted())")
        #expect(known.subtracting(flags).isEmpty, "known but not in --help: \(known.subtracting(flags).sorted())")
    }

    @Test(arguments: [
        ("epochs", OptionKind.integer), ("micro-batch", .integer), ("seed", .integer), ("lr", .number),
        ("learning-rate", .number), ("dropout", .number), ("startup-timeout", .number), ("model", .string),
        ("init", .string), ("dataset", .string), ("gemm-limit", .flag),
    ])
    func optionTypesComeFromTheDeclarations(name: String, kind: OptionKind) throws {
        let option = try #require(Self.options.first { $0.names.contains(name) })
        #expect(option.kind == kind)
        #expect(option.takesValue == (kind != .flag))
    }

    @Test func aliasesSectionsAndInversionsAreKnown() throws {
        let lr = try #require(Self.options.first { $0.name == "lr" })
        #expect(lr.names == ["lr", "learning-rate"])
        #expect(lr.section == "Optimization")
        let gemmLimit = try #require(Self.options.first { $0.name == "gemm-limit" })
        #expect(gemmLimit.inversion == "no-gemm-limit")
        #expect(Self.options.filter { $0.name != ConfigFile.optionName }.allSatisfy {
            $0.section.flatMap { ConfigFile.tableOfSection[$0] } != nil
        })
    }

    /// What `expand` relies on: ArgumentParser keeps the last value of an option and of a flag pair.
    @Test func argumentParserKeepsTheLastOccurrence() throws {
        #expect(try Train.parse(["--epochs=5", "--epochs", "7"]).optimization.epochs == 7)
        #expect(try Train.parse(["--learning-rate=0.5", "--lr", "0.25"]).optimization.learningRate == 0.25)
        #expect(try Train.parse(["--no-gemm-limit", "--gemm-limit"]).output.gemmLimit == true)
        #expect(try Train.parse(["--gemm-limit", "--no-gemm-limit"]).output.gemmLimit == false)
    }

    // MARK: - Expansion

    @Test func settingsComeBeforeTheUsersFlagsInDeclarationOrder() throws {
        let path = try Self.file("""
            epochs = 20
            [optimizer]
            lr = 1e-3
            optimizer = "adamw"
            [output]
            gemm-limit = false
            [model]
            model = "784-512:relu-10:softmax"
            """)
        let expanded = try ConfigFile.expand(arguments: ["--seed", "3", "--config", path], knownOptions: Self.options)
        #expect(expanded == [
            "--model=784-512:relu-10:softmax", "--epochs=20", "--optimizer=adamw", "--lr=0.001", "--no-gemm-limit",
            "--seed", "3", "--config=\(path)",
        ])
    }

    @Test func flagsOverrideTheFile() throws {
        let path = try Self.file("epochs = 20\nlr = 0.01\ngemm-limit = false\ndropout = 0.2\n")
        let train = try Self.parse(["--epochs", "3", "--config=\(path)", "--gemm-limit", "--learning-rate", "0.5"])
        #expect(train.optimization.epochs == 3)
        #expect(train.optimization.learningRate == 0.5)
        #expect(train.output.gemmLimit == true)
        #expect(train.regularization.dropout == 0.2)
    }

    @Test func integersAreNumbersAndFalseFlagsWithoutInversionAreLeftOut() throws {
        let path = try Self.file("lr = 1\nweight-decay = 0\n")
        let train = try Self.parse(["--config", path])
        #expect(train.optimization.learningRate == 1)
        let flag = OptionInfo.flagForTesting(name: "json")
        #expect(try ConfigFile.settings(text: "json = false", path: "c.toml", knownOptions: [flag]) == [])
        #expect(try ConfigFile.settings(text: "json = true", path: "c.toml", knownOptions: [flag]) == ["--json"])
    }

    @Test func anOptionValueThatLooksLikeConfigIsNotTakenForIt() throws {
        let arguments = ["--dataset", "--config", "--epochs", "2"]
        #expect(try ConfigFile.expand(arguments: arguments, knownOptions: Self.options) == arguments)
        #expect(try ConfigFile.expand(arguments: ["--", "--config", "x"], knownOptions: Self.options) == ["--", "--config", "x"])
    }

    // MARK: - Bad files

    static let badFiles: [(String, String)] = [
        ("learning_rat = 0.1", "unknown key 'learning_rat'; did you mean 'learning-rate'?"),
        ("[optimizer]\nepoch = 3", "unknown key 'epoch'; did you mean 'epochs'?"),
        ("zzzzzzzz = 1", "unknown key 'zzzzzzzz'; the keys are the long option names of 'dptrain train --help'"),
        ("epochs = \"20\"", "key 'epochs' must be an integer, got a string"),
        ("epochs = 2.5", "key 'epochs' must be an integer, got a number"),
        ("lr = \"fast\"", "key 'lr' must be a number, got a string"),
        ("model = 784", "key 'model' must be a string, got an integer"),
        ("gemm-limit = \"no\"", "key 'gemm-limit' must be a boolean (true or false), got a string"),
        ("milestones = [30, 80]", "key 'milestones' must be a string, got an array"),
        ("[modle]\nmodel = \"2-1:sigmoid\"", "unknown table [modle]; did you mean [model]?"),
        ("[logging]\nx = 1", "unknown table [logging]; valid tables: [data], [model], [optimizer], [schedule], [regularization], [parallel], [output]"),
        ("[model.layers]\nwidth = 3", "unknown table [model.layers]; valid tables: [data], [model], [optimizer], [schedule], [regularization], [parallel], [output]"),
        ("lr = 0.1\nlearning-rate = 0.2", "'learning-rate' and 'lr' set the same option; keep one"),
        ("epochs = 1\n[optimizer]\nepochs = 2", "'epochs' and 'epochs' in [optimizer] set the same option; keep one"),
        ("config = \"other.toml\"", "key 'config' cannot be set in a config file; pass --config on the command line"),
        ("epochs = 20\nlr = \n", "line 2, column 6: Error while parsing key-value pair: expected value, saw '\\n'"),
    ]

    @Test(arguments: badFiles)
    func badFileGetsItsMessage(text: String, message: String) throws {
        let path = try Self.file(text)
        #expect(throws: ConfigFileError.self) { try Self.parse(["--config", path]) }
        do {
            _ = try ConfigFile.expand(arguments: ["--config", path], knownOptions: Self.options)
        } catch {
            #expect(error.description == "\(path): \(message)")
        }
    }

    @Test func badCommandLinesGetTheirMessages() throws {
        let path = try Self.file("epochs = 2")
        let cases: [([String], String)] = [
            (["--config"], "--config needs a file, e.g. --config cluster/configs/xor.toml"),
            (["--config="], "--config needs a file, e.g. --config cluster/configs/xor.toml"),
            (["--config", "/nonexistent/run.toml"], "--config '/nonexistent/run.toml': no such file"),
            (["--config", "/tmp"], "--config '/tmp': cannot read it: it is a directory"),
            (["--config", path, "--config=b.toml"], "--config given twice ('\(path)' and 'b.toml'); pass one file"),
        ]
        for (arguments, message) in cases {
            #expect(throws: ConfigFileError.self) { try ConfigFile.expand(arguments: arguments, knownOptions: Self.options) }
            do {
                _ = try ConfigFile.expand(arguments: arguments, knownOptions: Self.options)
            } catch {
                #expect(error.description == message)
            }
        }
    }

    // MARK: - The resolved config

    @Test func resolvedConfigReproducesTheParse() throws {
        let path = try Self.file("[optimizer]\nepochs = 4\nlr = 0.003\n[regularization]\ndropout = 0.25\n")
        let first = try Self.parse([
            "--config", path, "--dataset", "datasets/xor.csv", "--model", "2-4:tanh-1:sigmoid", "--no-gemm-limit",
            "--milestones", "3,4", "--init", "normal(0.1)", "--startup-timeout", "30",
        ])
        let text = ConfigFile.resolvedText(of: first, header: "dptrain train\nresolved")
        #expect(text.hasPrefix("# dptrain train\n# resolved\n\n[data]\ndataset = \"datasets/xor.csv\"\n"))
        #expect(text.contains("\n[optimizer]\nepochs = 4\nbatch-size = 128\noptimizer = \"adam\"\namsgrad = false\nlr = 0.003\nseed = 1\n"))
        #expect(text.contains("\ndropout = 0.25\n"))
        #expect(text.contains("\n[output]\ngemm-limit = false\nhealth-every = 0\n"))
        #expect(text.contains("\nstartup-timeout = 30.0\n"))
        #expect(!text.contains("labels"), "unset options are left out")

        let saved = try Self.file(text, name: "resolved.toml")
        let second = try Self.parse(["--config", saved])
        #expect(ConfigFile.resolvedText(of: second, header: "dptrain train\nresolved") == text)
    }

    @Test func stringsAreQuotedForTOML() {
        #expect(ConfigFile.tomlString("a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }

    @Test func shippedConfigsParse() throws {
        let directory = Binary.packageRoot.appendingPathComponent("cluster/configs")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(names == ["fashion-mnist.toml", "sine.toml", "xor.toml"])
        for name in names {
            _ = try Self.parse(["--config", directory.appendingPathComponent(name).path])
        }
        let fashion = try Self.parse(["--config", directory.appendingPathComponent("fashion-mnist.toml").path])
        #expect(fashion.model.model == "784-512:relu-512:relu-10:softmax")
        #expect(fashion.optimization.optimizer == "adamw")
        #expect(fashion.optimization.epochs == 30)
        #expect(fashion.optimization.batchSize == 128)
        #expect(fashion.optimization.learningRate == 1e-3)
        #expect(fashion.regularization.weightDecay == 0.05)
        #expect(fashion.schedule.schedule == "cosine")
    }

    // MARK: - Suggestions

    @Test(arguments: [("", "abc", 3), ("kitten", "sitting", 3), ("learning_rat", "learning-rate", 2), ("lr", "lr", 0)])
    func editDistanceIsLevenshtein(a: String, b: String, distance: Int) {
        #expect(ConfigFile.editDistance(a, b) == distance)
        #expect(ConfigFile.editDistance(b, a) == distance)
    }
}

extension OptionInfo {
    /// A Bool flag without an inversion, as `@Flag var json = false` declares it.
    static func flagForTesting(name: String) -> OptionInfo {
        OptionInfo(names: [name], kind: .flag, takesValue: false, section: nil, inversion: nil)
    }
}
