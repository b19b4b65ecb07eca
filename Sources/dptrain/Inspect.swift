// `dptrain inspect CHECKPOINT`: what a checkpoint holds and whether it validates.
//
// Prints the format version, model spec, step and epoch, every metadata key,
// each tensor's name, dtype, shape and element count, and the byte totals;
// then validates it as `dptrain train --resume` would (format, version,
// required keys, header and tensor CRC-32; see Training/Checkpoint/Checkpoint.swift).
// Exit 0 when it validates; 65 with the reason on stderr when it does not
// (66 when the file is missing), as CommandFailure documents.

import ArgumentParser
import Training

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a checkpoint holds and whether it validates.",
        discussion: """
            Reads any safetensors file; a dptrain checkpoint is also checked (format version, \
            required metadata, CRC-32 of the header and of the tensor bytes). Exits 0 when the file \
            validates, 65 with the reason when it does not, 66 when it is missing.

            Example:
              dptrain inspect runs/fashion/ckpt-00000200.safetensors
            """)

    @Argument(help: "The checkpoint file (ckpt-<step>.safetensors in a run directory).")
    var checkpoint: String

    func run() throws {
        let file: SafeTensorsFile
        do throws(CheckpointError) {
            file = try SafeTensorsFile(path: checkpoint)
        } catch {
            if case .missingFile = error { CommandFailure.missingInput(error.description).exit() }
            CommandFailure.data(error.description).exit()
        }
        let metadata = file.metadata
        let dataBytes = file.dataBytes
        let values = file.tensors.reduce(0) { $0 + $1.elementCount }
        var lines = [checkpoint]
        func row(_ label: String, _ value: String) { lines.append("  " + pad(label, 14) + value) }
        row("format", "\(metadata[Checkpoint.Key.format] ?? "-"), version \(metadata[Checkpoint.Key.formatVersion] ?? "-")")
        row("model spec", metadata[Checkpoint.Key.modelSpec] ?? "-")
        row("step", metadata[Checkpoint.Key.step] ?? "-")
        row("epoch", metadata[Checkpoint.Key.epoch] ?? "-")
        lines.append("  metadata (\(metadata.count) key\(metadata.count == 1 ? "" : "s"))")
        let keyWidth = (metadata.keys.map(\.count).max() ?? 0) + 2
        for key in metadata.keys.sorted() {
            lines.append("    " + pad(key, keyWidth) + oneLine(metadata[key] ?? ""))
        }
        lines.append("  tensors (\(file.tensors.count), \(values) value\(values == 1 ? "" : "s"))")
        let nameWidth = (file.tensors.map(\.name.count).max() ?? 0) + 2
        for entry in file.tensors {
            let shape = "[" + entry.shape.map(String.init).joined(separator: ", ") + "]"
            lines.append("    " + pad(entry.name, nameWidth) + pad(entry.dtype.rawValue, 6) + pad(shape, 16) + "\(entry.elementCount)")
        }
        row("bytes", "\(file.bytes.count) = 8 + \(file.headerBytes) header + \(dataBytes) tensor data")

        let failure: CheckpointError?
        do throws(CheckpointError) {
            _ = try Checkpoint(validating: file)
            failure = nil
        } catch {
            failure = error
        }
        if failure == nil {
            let crcs = [Checkpoint.Key.tensorCRC32, Checkpoint.Key.headerCRC32].map { "\($0) \(metadata[$0] ?? "")" }
            row("validates", "yes (" + crcs.joined(separator: ", ") + ")")
        } else {
            row("validates", "no")
        }
        print(lines.joined(separator: "\n"))
        if let failure { CommandFailure.data(failure.description).exit() }
    }
}

/// `text` padded with spaces to at least `width` characters, and one space more if it is that long already.
private func pad(_ text: String, _ width: Int) -> String {
    text.count < width ? text + String(repeating: " ", count: width - text.count) : text + " "
}

/// `text` with line breaks and tabs escaped, so each metadata value stays on its line.
private func oneLine(_ text: String) -> String {
    var line = ""
    for character in text {
        switch character {
        case "\n": line += "\\n"
        case "\r\n": line += "\\r\\n"
        case "\r": line += "\\r"
        case "\t": line += "\\t"
        default: line.append(character)
        }
    }
    return line
}
