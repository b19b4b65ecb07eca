// CRC-32C (Castagnoli): the checksum of TFRecord files, which TensorBoard's
// event files are.
//
// Polynomial 0x1EDC6F41, reflected (0x82F63B78), initial value and final XOR
// 0xFFFFFFFF (RFC 3720 §12.1, iSCSI). Check value: CRC-32C("123456789") = 0xE3069283.
// TFRecord stores it "masked" so that a CRC of data that itself holds CRCs
// stays well distributed: masked = ((crc >> 15) | (crc << 17)) + 0xA282EAD8
// (tensorflow/core/lib/hash/crc32c.h).

/// CRC-32C checksums, plain and masked as in TFRecord files.
public enum CRC32C {
    /// The byte-at-a-time lookup table of the reflected polynomial.
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        table.withUnsafeBufferPointer { lookup in
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes { crc = lookup[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
            return crc ^ 0xFFFF_FFFF
        }
    }

    /// The TFRecord mask of `crc`: rotate right by 15 bits, add 0xA282EAD8.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    /// The masked CRC-32C of `bytes`, as stored in a TFRecord.
    public static func maskedChecksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        masked(checksum(bytes))
    }
}
