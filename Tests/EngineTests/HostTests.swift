// What bench reports of the machine: the CPU's name from /proc/cpuinfo and oneDNN's instruction set.

import Engine
import Testing

@Suite struct HostTests {
    @Test func theCPUNameIsTheFirstModelNameWithSpacesCollapsed() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 17\nmodel name\t: AMD EPYC  9R14   96-Core\n"
            + "processor\t: 1\nmodel name\t: Other\n"
        #expect(Host.cpuName(fromCPUInfo: text) == "AMD EPYC 9R14 96-Core")
        #expect(Host.cpuName(fromCPUInfo: "processor\t: 0\nmodel\t\t: 17\n") == nil)
        #expect(Host.cpuName(fromCPUInfo: "model name\t:   \n") == nil)
    }

    @Test func instructionSetsHaveOneDNNsNames() {
        #expect(Host.instructionSetName(0x7) == "avx2")
        #expect(Host.instructionSetName(0x27) == "avx512_core")
        #expect(Host.instructionSetName(0xe7) == "avx512_core_bf16")
        #expect(Host.instructionSetName(0x12345) == "isa 0x12345")
    }

    @Test func theKernelsUseSixteenEightOrOneLanes() {
        #expect([16, 8, 1].contains(Host.kernelLanes))
    }
}
