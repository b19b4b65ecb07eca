// SHA-256 against the FIPS 180-4 example vectors, including messages that
// end exactly at and just past a block's padding boundary.

import Engine
import Testing

@Suite struct SHA256Tests {
    static func hex(_ text: String) -> String {
        Array(text.utf8).withUnsafeBytes { SHA256.hex($0) }
    }

    @Test func knownVectors() {
        #expect(Self.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Self.hex(String(repeating: "a", count: 1000))
                == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func feedingInPiecesEqualsFeedingAtOnce() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var pieces = SHA256()
        bytes[0..<63].withUnsafeBytes { pieces.update($0) }
        bytes[63..<64].withUnsafeBytes { pieces.update($0) }
        bytes[64...].withUnsafeBytes { pieces.update($0) }
        #expect(pieces.finalizeHex() == bytes.withUnsafeBytes { SHA256.hex($0) })
    }
}

@Suite struct ElementwiseTests {
    @Test func addIsTheSameOnAnyThreadCount() {
        let count = 100_003
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            let source = FloatBuffer((0..<count).map { Float($0 % 97) * 0.1 })
            let target = FloatBuffer((0..<count).map { Float($0 % 13) * 0.3 })
            Elementwise.add(source, into: target, pool: ThreadPool(threadCount: threads))
            results.append(target.array)
        }
        #expect(results[0] == results[1] && results[1] == results[2])
        #expect(results[0][96] == Float(96 % 97) * 0.1 + Float(96 % 13) * 0.3)
    }

    @Test func orderedSumAddsInIndexOrderInDouble() {
        let values: [Float] = [1e8, 1, -1e8, 0.5]
        #expect(values.withUnsafeBufferPointer { orderedSum($0.baseAddress!, count: 4) } == 1.5)
    }
}
