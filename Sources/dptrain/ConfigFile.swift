// Config files: `dptrain train --config FILE.toml [flags]`.
//
// A config file (TOML, https://toml.io/en/v1.0.0) sets options by their long
// names without dashes (`epochs = 20`, `lr = 1e-3`, `gemm-limit = false`),
// at the top level or in the tables [data], [model], [optimizer], [schedule],
// [regularization], [parallel] and [output] (the table only groups; any option
// may stand in any table). Before ArgumentParser parses, `expand` turns the
// file into flags placed BEFORE the user's own: ArgumentParser keeps the last
// value of a single-value option, and the last of `--x`/`--no-x`, so every
// command-line flag overrides the file. `resolvedText` writes what a parsed
// command ended up with as a config file that reproduces it.

import ArgumentParser
import Foundation
import TOMLKit

/// Reads config files and writes resolved ones.
enum ConfigFile {
    /// The tables a config file may use, in the order the resolved config writes them.
    static let tables = ["data", "model", "optimizer", "schedule", "regularization", "parallel", "output"]

    /// The table the resolved config writes each `--help` section's options in.
    static let tableOfSection = [
        "Data": "data", "Model": "model", "Optimization": "optimizer", "Learning-rate schedule": "schedule",
        "Regularization": "regularization", "Parallelism": "parallel", "Output": "output",
        "Checkpoints and faults": "checkpoints",
    ]

    /// The option naming the config file itself, which a config file cannot set.
    static let optionName = "config"

    /// `arguments` with the settings of the `--config FILE` among them inserted
    /// before the first argument, so that every flag given overrides the file.
    /// `--config FILE` itself stays when the command declares it, else it is removed.
    /// - Parameters:
    ///   - arguments: the command's arguments (without the program and subcommand names).
    ///   - knownOptions: the command's options, `OptionInfo.options(of: Train.self)`.
    static func expand(arguments: [String], knownOptions: [OptionInfo]) throws(ConfigFileError) -> [String] {
        let valueTaking = Set(knownOptions.filter(\.takesValue).flatMap(\.names))
        let keepsOption = knownOptions.contains { $0.names.contains(optionName) }
        var remaining: [String] = []
        var path: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                remaining += arguments[index...]
                break
            }
            var found: String?
            var consumed = 1
            if argument == "--" + optionName {
                guard index + 1 < arguments.count else { throw .missingPath }
                found = arguments[index + 1]
                consumed = 2
            } else if argument.hasPrefix("--\(optionName)=") {
                found = String(argument.dropFirst(optionName.count + 3))
            } else if argument.hasPrefix("--"), !argument.contains("="), valueTaking.contains(String(argument.dropFirst(2))) {
                consumed = 2  // an option and its value, which may look like a flag
            }
            if let found {
                if let path { throw .repeated(first: path, second: found) }
                if found.isEmpty { throw .missingPath }
                path = found
                if keepsOption { remaining.append("--\(optionName)=\(found)") }
            } else {
                remaining += arguments[index..<min(index + consumed, arguments.count)]
            }
            index += consumed
        }
        guard let path else { return arguments }
        return try settings(text: read(path), path: path, knownOptions: knownOptions) + remaining
    }

    /// The flags that the config text sets, in the order of `knownOptions`:
    /// `--name=value` for options, `--name` or its inversion for flags.
    /// - Parameter path: the file's name as messages show it.
    static func settings(text: String, path: String, knownOptions: [OptionInfo]) throws(ConfigFileError) -> [String] {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(path: path, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(path: path, line: 0, column: 0, message: "\(error)")
        }
        // Every key with the table it stands in (nil: top level).
        var entries: [(key: String, table: String?, value: any TOMLValueConvertible)] = []
        for key in root.keys.sorted() {
            guard let value = root[key] else { continue }
            guard value.type == .table, let table = value.table else {
                entries.append((key, nil, value))
                continue
            }
            guard tables.contains(key) else {
                throw .unknownTable(path: path, table: key, suggestion: nearest(to: key, among: tables))
            }
            for inner in table.keys.sorted() {
                guard let innerValue = table[inner] else { continue }
                if innerValue.type == .table {
                    throw .unknownTable(path: path, table: key + "." + inner, suggestion: nil)
                }
                entries.append((inner, key, innerValue))
            }
        }

        var chosen: [Int: (key: String, table: String?, argument: [String])] = [:]
        let allNames = knownOptions.flatMap(\.names).filter { $0 != optionName }
        for entry in entries {
            if entry.key == optionName { throw .notSettable(path: path, key: entry.key) }
            guard let position = knownOptions.firstIndex(where: { $0.names.contains(entry.key) }) else {
                throw .unknownKey(path: path, key: entry.key, suggestion: nearest(to: entry.key, among: allNames))
            }
            let option = knownOptions[position]
            if option.kind == .unsupported {
                throw .notSettable(path: path, key: entry.key)
            }
            if let earlier = chosen[position] {
                throw .setTwice(path: path, first: place(earlier.key, earlier.table), second: place(entry.key, entry.table))
            }
            chosen[position] = (entry.key, entry.table, try argument(for: option, key: entry.key, value: entry.value, path: path))
        }
        return chosen.keys.sorted().flatMap { chosen[$0]?.argument ?? [] }
    }

    /// The command-line form of `value` for `option`.
    private static func argument(
        for option: OptionInfo, key: String, value: any TOMLValueConvertible, path: String
    ) throws(ConfigFileError) -> [String] {
        let text: String?
        switch option.kind {
        case .integer: text = value.int.map { "\($0)" }
        case .number: text = value.double.map { "\($0)" } ?? value.int.map { "\($0)" }
        case .string: text = value.string
        case .flag:
            guard let on = value.bool else { text = nil; break }
            if option.takesValue { return ["--\(option.name)=\(on)"] }
            if on { return ["--\(option.name)"] }
            return option.inversion.map { ["--\($0)"] } ?? []
        case .unsupported: text = nil
        }
        guard let text else {
            throw .wrongType(path: path, key: key, expected: option.kind.phrase, got: phrase(of: value.type))
        }
        return ["--\(option.name)=\(text)"]
    }

    /// The TOML type of a value as error messages name it.
    private static func phrase(of type: TOMLType) -> String {
        switch type {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }

    /// How a key is named when it is set twice: `'lr'` or `'epochs' in [optimizer]`.
    private static func place(_ key: String, _ table: String?) -> String {
        table.map { "'\(key)' in [\($0)]" } ?? "'\(key)'"
    }

    /// The contents of the file at `path`.
    private static func read(_ path: String) throws(ConfigFileError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .missingFile(path: path) }
        if isDirectory.boolValue { throw .unreadable(path: path, reason: "it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: FileManager.default.isReadableFile(atPath: path) ? "read error" : "permission denied")
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - The resolved config

    /// The options of a parsed `command` as a config file that reproduces them:
    /// every option with a value (defaults included, unset optional ones left
    /// out), grouped in the tables of their `--help` sections. `--config` itself
    /// is left out.
    static func resolvedText(of command: any ParsableArguments, header: String? = nil) -> String {
        var groups: [String: [String]] = [:]
        var topLevel: [String] = []
        for (option, value) in OptionInfo.values(of: command) where option.name != optionName && option.kind != .unsupported {
            let line = "\(option.name) = \(tomlValue(value, kind: option.kind))"
            if let table = option.section.flatMap({ tableOfSection[$0] }) {
                groups[table, default: []].append(line)
            } else {
                topLevel.append(line)
            }
        }
        var blocks: [String] = []
        if let header { blocks.append(header.split(separator: "\n", omittingEmptySubsequences: false).map { "# " + $0 }.joined(separator: "\n")) }
        if !topLevel.isEmpty { blocks.append(topLevel.joined(separator: "\n")) }
        for table in tables {
            if let lines = groups[table] { blocks.append((["[\(table)]"] + lines).joined(separator: "\n")) }
        }
        return blocks.joined(separator: "\n\n") + "\n"
    }

    /// Writes `text` to `path` (a temporary file renamed into place).
    static func write(_ text: String, to path: String) throws(ConfigFileError) {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw .cannotWrite(path: path, reason: (error as NSError).localizedDescription)
        }
    }

    /// A parsed option value as a TOML value.
    private static func tomlValue(_ value: Any, kind: OptionKind) -> String {
        if kind == .flag, let on = value as? Bool { return on ? "true" : "false" }
        let text = (value as? any ExpressibleByArgument)?.defaultValueDescription ?? "\(value)"
        switch kind {
        case .integer: return text
        case .number: return text.contains(where: { ".eEin".contains($0) }) ? text : text + ".0"
        default: return tomlString(text)
        }
    }

    /// `text` as a TOML basic string.
    static func tomlString(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            case "\r": quoted += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }

    // MARK: - Suggestions

    /// The candidate closest to `word` in edit distance, if it is close enough to be a likely typo.
    static func nearest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { (name: $0, distance: editDistance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        return best.distance <= max(2, word.count / 3) ? best.name : nil
    }

    /// Levenshtein distance: the fewest insertions, deletions and substitutions turning `a` into `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
