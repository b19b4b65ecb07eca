// OptionInfo: the options of a command as a config file sees them — long
// names, value type, help section — taken from the swift-argument-parser
// declaration itself, so config keys cannot drift from the flags.
//
// Names and sections come from ArgumentParser's JSON description of the
// command (`_dumpHelp()`, what `--experimental-dump-help` prints; it carries
// no value types). Value types come from the property wrappers, found with
// `Mirror` in declaration order: the order in which ArgumentParser itself
// builds its argument list, so the two line up entry by entry. A Bool flag
// with an inversion is one wrapper and two entries (`--x`, `--no-x`).

import ArgumentParser
import Foundation

/// What a config value for an option must be.
enum OptionKind: Equatable, Sendable {
    /// A whole number (`Int`, `UInt64`, ...).
    case integer
    /// A floating-point number (`Float`, `Double`); a TOML integer is accepted too.
    case number
    /// A string, or any other value parsed from its text (names such as `adam`).
    case string
    /// An on/off flag, a TOML boolean.
    case flag
    /// An option a config file cannot set: repeating options, counted or enumerated flags.
    case unsupported

    /// The kind as an error message names it ("an integer").
    var phrase: String {
        switch self {
        case .integer: return "an integer"
        case .number: return "a number"
        case .string: return "a string"
        case .flag: return "a boolean (true or false)"
        case .unsupported: return "not set in a config file"
        }
    }
}

/// One option of a command, as config files and the resolved config see it.
struct OptionInfo: Equatable, Sendable {
    /// Long names without dashes, the preferred one first (`["lr", "learning-rate"]`).
    let names: [String]
    /// The type of value it takes.
    let kind: OptionKind
    /// Whether it takes a value on the command line (an option rather than a flag).
    let takesValue: Bool
    /// Title of its option group in `--help` (`"Optimization"`), nil outside groups.
    let section: String?
    /// For a flag with an inversion, the name that turns it off (`no-gemm-limit`).
    let inversion: String?

    /// The preferred long name.
    var name: String { names.first ?? "" }

    /// The options of `command`, in declaration order. Positional arguments,
    /// `--help` and options without a long name are left out.
    static func options(of command: any ParsableArguments.Type) -> [OptionInfo] {
        aligned(command, instance: command.init(), parsed: false).map(\.info)
    }

    /// The value of every option of a parsed `command` that has one, in
    /// declaration order: options left unset (nil) are omitted.
    static func values(of command: any ParsableArguments) -> [(option: OptionInfo, value: Any)] {
        aligned(type(of: command), instance: command, parsed: true).compactMap { entry in
            guard let value = entry.value.flatMap(unwrapped) else { return nil }
            return (entry.info, value)
        }
    }

    /// The options of `command` paired with the wrappers' values (nil unless `parsed`).
    private static func aligned(
        _ command: any ParsableArguments.Type, instance: any ParsableArguments, parsed: Bool
    ) -> [(info: OptionInfo, value: Any?)] {
        let entries = describedArguments(command)
        var next = 0
        var result: [(info: OptionInfo, value: Any?)] = []
        func take(_ kind: String, for leaf: Leaf) -> DumpedArgument {
            precondition(
                next < entries.count && entries[next].kind == kind,
                "OptionInfo: \(command)'s wrapper #\(next) (\(leaf)) does not line up with ArgumentParser's description")
            defer { next += 1 }
            return entries[next]
        }
        for leaf in leaves(of: instance, parsed: parsed) {
            switch leaf {
            case .positional:
                _ = take("positional", for: leaf)
            case .option(let valueType, let value):
                let entry = take("option", for: leaf)
                let kind = entry.isRepeating ? .unsupported : kindOf(valueType)
                if let info = OptionInfo(entry, kind: kind, takesValue: true, inversion: nil) { result.append((info, value)) }
            case .flag(let valueType, let value):
                let bare = unwrappedType(valueType)
                if bare == Bool.self {
                    let entry = take("flag", for: leaf)
                    var inversion: String?
                    if next < entries.count, entries[next].kind == "flag",
                       let name = entry.longNames.first, let other = entries[next].longNames.first,
                       other == "no-" + name || (name.hasPrefix("enable-") && other == "dis" + name.dropFirst(2)) {
                        inversion = other
                        next += 1
                    }
                    if let info = OptionInfo(entry, kind: .flag, takesValue: false, inversion: inversion) {
                        result.append((info, value))
                    }
                } else {
                    // A counted flag is one entry; an enumerated one has an entry per case.
                    let count = (bare as? any EnumerableFlag.Type).map { caseCount($0) } ?? 1
                    for _ in 0..<count {
                        if let info = OptionInfo(take("flag", for: leaf), kind: .unsupported, takesValue: false, inversion: nil) {
                            result.append((info, nil))
                        }
                    }
                }
            }
        }
        return result
    }

}

extension OptionInfo {
    /// The option ArgumentParser describes as `entry`; nil when it has no long name.
    fileprivate init?(_ entry: DumpedArgument, kind: OptionKind, takesValue: Bool, inversion: String?) {
        guard !entry.longNames.isEmpty, entry.shouldDisplay != false else { return nil }
        self.init(names: entry.longNames, kind: kind, takesValue: takesValue, section: entry.sectionTitle, inversion: inversion)
    }
}

// MARK: - ArgumentParser's description of a command

/// The fields of ArgumentParser's `ArgumentInfoV0` that config files need.
private struct DumpedArgument: Decodable {
    struct Name: Decodable {
        let kind: String
        let name: String
    }
    /// "positional", "option" or "flag".
    let kind: String
    let names: [Name]?
    let sectionTitle: String?
    let isRepeating: Bool
    /// False for options hidden from --help (test knobs), which config files cannot set.
    let shouldDisplay: Bool?

    var longNames: [String] { (names ?? []).filter { $0.kind == "long" }.map(\.name) }
}

private struct DumpedTool: Decodable {
    struct Command: Decodable { let arguments: [DumpedArgument]? }
    let command: Command
}

/// The arguments of `command` as ArgumentParser describes them, in its order.
private func describedArguments(_ command: any ParsableArguments.Type) -> [DumpedArgument] {
    let json = Data(command._dumpHelp().utf8)
    do {
        return try JSONDecoder().decode(DumpedTool.self, from: json).command.arguments ?? []
    } catch {
        preconditionFailure("OptionInfo: cannot read ArgumentParser's description of \(command): \(error)")
    }
}

// MARK: - The property wrappers, by reflection

/// A property wrapper of a command, in declaration order.
private enum Leaf: CustomStringConvertible {
    case option(Any.Type, value: Any?)
    case flag(Any.Type, value: Any?)
    case positional

    var description: String {
        switch self {
        case .option(let type, _): return "@Option \(type)"
        case .flag(let type, _): return "@Flag \(type)"
        case .positional: return "@Argument"
        }
    }
}

private protocol ReflectedValue {
    static var valueType: Any.Type { get }
    /// The parsed value; only valid on a parsed command.
    var parsedValue: Any { get }
}

private protocol ReflectedGroup {
    static var groupType: any ParsableArguments.Type { get }
    /// The parsed group; only valid on a parsed command.
    var parsedGroup: any ParsableArguments { get }
}

private protocol ReflectedPositional {}

extension Option: ReflectedValue {
    fileprivate static var valueType: Any.Type { Value.self }
    fileprivate var parsedValue: Any { wrappedValue }
}

extension Flag: ReflectedValue {
    fileprivate static var valueType: Any.Type { Value.self }
    fileprivate var parsedValue: Any { wrappedValue }
}

extension Argument: ReflectedPositional {}

extension OptionGroup: ReflectedGroup {
    fileprivate static var groupType: any ParsableArguments.Type { Value.self }
    fileprivate var parsedGroup: any ParsableArguments { wrappedValue }
}

/// The wrappers of `instance` and of its option groups, depth first in declaration order.
private func leaves(of instance: any ParsableArguments, parsed: Bool) -> [Leaf] {
    Mirror(reflecting: instance).children.flatMap { child -> [Leaf] in
        switch child.value {
        case let group as any ReflectedGroup:
            let nested = parsed ? group.parsedGroup : type(of: group).groupType.init()
            return leaves(of: nested, parsed: parsed)
        case let wrapper as any ReflectedValue:
            let valueType = type(of: wrapper).valueType
            let value = parsed ? wrapper.parsedValue : nil
            return [wrapper is any ReflectedFlagMarker ? .flag(valueType, value: value) : .option(valueType, value: value)]
        case is any ReflectedPositional:
            return [.positional]
        default:
            return []
        }
    }
}

private protocol ReflectedFlagMarker {}
extension Flag: ReflectedFlagMarker {}

private protocol OptionalMarker {
    static var wrappedType: Any.Type { get }
    var wrappedValue: Any? { get }
}

extension Optional: OptionalMarker {
    fileprivate static var wrappedType: Any.Type { Wrapped.self }
    fileprivate var wrappedValue: Any? { self.map { $0 as Any } }
}

private protocol ArrayMarker {}
extension Array: ArrayMarker {}

/// `type` without its Optional layers.
private func unwrappedType(_ type: Any.Type) -> Any.Type {
    if let optional = type as? any OptionalMarker.Type { return unwrappedType(optional.wrappedType) }
    return type
}

/// `value` without its Optional layers; nil when it is nil.
private func unwrapped(_ value: Any) -> Any? {
    if let optional = value as? any OptionalMarker {
        return optional.wrappedValue.flatMap(unwrapped)
    }
    return value
}

/// The config kind of an option whose value is `type`.
private func kindOf(_ type: Any.Type) -> OptionKind {
    let bare = unwrappedType(type)
    if bare is any ArrayMarker.Type { return .unsupported }
    if bare is any BinaryInteger.Type { return .integer }
    if bare is any BinaryFloatingPoint.Type { return .number }
    if bare == Bool.self { return .flag }
    return .string
}

private func caseCount<T: EnumerableFlag>(_ type: T.Type) -> Int { T.allCases.count }
