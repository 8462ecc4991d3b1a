import Crypto
import Foundation
import TriageCore

/// The on-disk container of every Triage model: versioned, self-describing, checksummed.
///
/// Layout (all text, so `head -2 MODEL` tells what a file is):
/// ```
/// TRIAGE-MODEL
/// {"format_version":1,"kind":"iforest","payload_bytes":N,"payload_sha256":"…"}
/// <payload: N bytes of JSON, keys sorted so equal models give equal bytes>
/// ```
/// Loading checks the magic line (foreign file), the format version (newer file), the kind
/// (wrong estimator), the length (truncated) and the SHA-256 (corrupted) before decoding.
public enum ModelFile {
    public static let magic = "TRIAGE-MODEL"
    public static let formatVersion = 1

    public struct Header: Codable, Sendable, Equatable {
        public var formatVersion: Int
        public var kind: String
        public var payloadBytes: Int
        public var payloadSHA256: String

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version"
            case kind
            case payloadBytes = "payload_bytes"
            case payloadSHA256 = "payload_sha256"
        }
    }

    /// Serialises `model` under `kind` to bytes.
    public static func encode<M: Encodable>(_ model: M, kind: String) throws -> [UInt8] {
        let payload = try canonicalEncoder().encode(model)
        let header = Header(formatVersion: formatVersion, kind: kind, payloadBytes: payload.count,
                            payloadSHA256: sha256Hex(payload))
        var bytes = Array((magic + "\n").utf8)
        bytes.append(contentsOf: try canonicalEncoder().encode(header))
        bytes.append(0x0A)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// Writes `model` atomically to `path`.
    public static func write<M: Encodable>(_ model: M, kind: String, to path: String) throws(DataError) {
        let bytes: [UInt8]
        do { bytes = try encode(model, kind: kind) } catch {
            throw DataError(.invalidModel("cannot encode model: \(error)"), file: path)
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Reads only the header (to dispatch on `kind`), validating magic and version.
    public static func readHeader(_ path: String) throws(DataError) -> Header {
        let file = try MappedFile(path: path, limit: FileLimits.modelBytes, what: "model file")
        return try file.withBytes { (bytes) throws(DataError) in try parseHeader(bytes, path: path).header }
    }

    /// Reads and verifies a model of the expected kind. The file must be a regular file of at
    /// most `FileLimits.modelBytes`.
    public static func read<M: Decodable>(_ type: M.Type, kind: String, from path: String) throws(DataError) -> M {
        let file = try MappedFile(path: path, limit: FileLimits.modelBytes, what: "model file")
        return try file.withBytes { (bytes) throws(DataError) in try decode(M.self, kind: kind, from: bytes, path: path) }
    }

    /// Verifies and decodes the bytes of a model file (`path` names it in errors). Every size
    /// the file states is checked against the bytes present before anything is allocated.
    public static func decode<M: Decodable>(_ type: M.Type, kind: String, from bytes: UnsafeBufferPointer<UInt8>,
                                           path: String) throws(DataError) -> M {
        let (header, payloadStart) = try parseHeader(bytes, path: path)
        guard header.kind == kind else {
            throw DataError(.invalidModel("model is a '\(header.kind)' model, expected '\(kind)'"), file: path)
        }
        let available = bytes.count - payloadStart
        guard header.payloadBytes >= 0 else {
            throw DataError(.invalidModel("model header states a negative payload size (\(header.payloadBytes))"), file: path)
        }
        guard available >= header.payloadBytes else {
            throw DataError(.invalidModel("model file is truncated (\(available) of \(header.payloadBytes) payload bytes)"), file: path)
        }
        guard available == header.payloadBytes else {
            throw DataError(.invalidModel("model file has \(available - header.payloadBytes) unexpected trailing bytes"), file: path)
        }
        let payload = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[payloadStart...]))
        guard sha256Hex(payload) == header.payloadSHA256 else {
            throw DataError(.invalidModel("model file is corrupted (checksum mismatch)"), file: path)
        }
        // The isolation forest's tree arrays are most of a bundle's bytes: read them directly
        // (nil at anything unusual, which `JSONDecoder` then reads as always).
        if M.self == SavedModel<IsolationForest>.self, let forest = IsolationForestPayload.savedModel(payload) {
            return forest as! M
        }
        do {
            return try canonicalDecoder().decode(M.self, from: Data(payload))
        } catch {
            throw DataError(.invalidModel("model payload does not decode as '\(kind)': \(error)"), file: path)
        }
    }

    static func parseHeader(_ bytes: UnsafeBufferPointer<UInt8>, path: String) throws(DataError) -> (header: Header, payloadStart: Int) {
        let magicBytes = Array((magic + "\n").utf8)
        guard bytes.count >= magicBytes.count, Array(bytes[0..<magicBytes.count]) == magicBytes else {
            throw DataError(.invalidModel("not a Triage model file"), file: path)
        }
        // The header is a short JSON line: look for its end in the first 4 KiB only, so a
        // corrupted file without newlines is not scanned (or decoded) whole.
        let searchEnd = min(bytes.count, magicBytes.count + 4096)
        guard let lineEnd = bytes[magicBytes.count..<searchEnd].firstIndex(of: 0x0A) else {
            throw DataError(.invalidModel(searchEnd == bytes.count ? "model file is truncated (no header)"
                                          : "model header is unreadable (longer than 4096 bytes)"), file: path)
        }
        let headerData = Data(UnsafeBufferPointer(rebasing: bytes[magicBytes.count..<lineEnd]))
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: headerData) } catch {
            throw DataError(.invalidModel("model header is unreadable"), file: path)
        }
        guard header.formatVersion <= formatVersion else {
            throw DataError(.invalidModel("model format version \(header.formatVersion) is newer than this triage supports (\(formatVersion)); upgrade triage"), file: path)
        }
        guard header.formatVersion >= 1 else {
            throw DataError(.invalidModel("model format version \(header.formatVersion) is invalid"), file: path)
        }
        return (header, lineEnd + 1)
    }

    /// A JSON encoder whose output depends only on the value (sorted keys, no pretty-printing).
    public static func canonicalEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func canonicalDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
