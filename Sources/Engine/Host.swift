// What a machine's figures and bits depend on: its CPU, the instruction set
// oneDNN's GEMM runs on (its kernels, and so their rounding, differ between
// instruction sets and CPUs: DESIGN.md 3) and the lanes of dptrain's own
// kernels (the same bits at every width, only their speed differs).

import CDNNL
import CKernels
import Foundation

public enum Host {
    /// The CPU's model name from /proc/cpuinfo ("unknown CPU" where there is none).
    public static let cpuName: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
        return cpuName(fromCPUInfo: text) ?? "unknown CPU"
    }()

    /// The first "model name" of a /proc/cpuinfo text, spaces collapsed.
    public static func cpuName(fromCPUInfo text: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "model name" else { continue }
            let name = parts[1].split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            return name.isEmpty ? nil : name
        }
        return nil
    }

    /// The instruction set oneDNN's kernels use on this machine, by oneDNN's name.
    public static var gemmInstructionSet: String { instructionSetName(dnnl_get_effective_cpu_isa().rawValue) }

    /// oneDNN's name of an instruction set (`dnnl_cpu_isa_t`).
    public static func instructionSetName(_ raw: UInt32) -> String {
        switch raw {
        case dnnl_cpu_isa_sse41.rawValue: "sse41"
        case dnnl_cpu_isa_avx.rawValue: "avx"
        case dnnl_cpu_isa_avx2.rawValue: "avx2"
        case dnnl_cpu_isa_avx2_vnni.rawValue: "avx2_vnni"
        case dnnl_cpu_isa_avx512_core.rawValue: "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni.rawValue: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16.rawValue: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx.rawValue: "avx512_core_amx"
        default: "isa 0x\(String(raw, radix: 16))"
        }
    }

    /// The lanes dptrain's own kernels use: 16 (AVX-512), 8 (AVX2) or 1.
    public static var kernelLanes: Int { Int(dpt_kernel_lanes()) }
}
