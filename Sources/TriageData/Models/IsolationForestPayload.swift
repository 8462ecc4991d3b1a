import Foundation
import TriageCore

/// A faster reader of an isolation forest model file's payload (`SavedModel<IsolationForest>`
/// as canonical JSON), for the engine's start: `JSONDecoder` took 0.5 G instructions (~0.1 s)
/// for the 130 000 numbers of a 100-tree forest, about 3 800 instructions a number through
/// its generic containers, where reading them straight from the bytes takes a few hundred.
///
/// It reads what `ModelFile.encode` writes — JSON, any whitespace and key order, numbers in
/// JSON's grammar, the non-finite floats as the strings `"nan"`, `"inf"`, `"-inf"` — into
/// the same values (`Float`/`Double` from the text, correctly rounded as `JSONDecoder`'s
/// `strtof`/`strtod`; everything but the four tree arrays and the scalars still decoded by
/// `JSONDecoder`), and returns nil at anything else (an escape in a key, a duplicate key, a
/// number out of range, a layout `IsolationForest` refuses): the caller then decodes with
/// `JSONDecoder`, which gives the value or the error it always gave. So this path changes no
/// result, only the time to reach it.
enum IsolationForestPayload {
    static func savedModel(_ payload: UnsafeRawBufferPointer) -> SavedModel<IsolationForest>? {
        var scanner = PayloadScanner(payload)
        var metadata: [UInt8] = [0x7B]  // the other keys, re-assembled for JSONDecoder
        var forest: IsolationForest?
        var keys = Set<[UInt8]>()
        guard scanner.consume(0x7B) else { return nil }
        if !scanner.consume(0x7D) {
            repeat {
                guard let key = scanner.plainKey(), keys.insert(key).inserted, scanner.consume(0x3A) else { return nil }
                if key == Array("model".utf8) {
                    guard let model = self.forest(&scanner) else { return nil }
                    forest = model
                } else {
                    guard let value = scanner.skipValue() else { return nil }
                    if metadata.count > 1 { metadata.append(0x2C) }
                    metadata.append(0x22)
                    metadata.append(contentsOf: key)
                    metadata.append(contentsOf: [0x22, 0x3A])
                    metadata.append(contentsOf: payload[value])
                }
            } while scanner.consume(0x2C)
            guard scanner.consume(0x7D) else { return nil }
        }
        guard scanner.atEnd, let forest else { return nil }
        metadata.append(0x7D)
        struct Metadata: Decodable {
            var features: [String]
            var target: String?
            var classes: [String]?
            var medians: [Float]
            var training: TrainingSummary
        }
        guard let other = try? ModelFile.canonicalDecoder().decode(Metadata.self, from: Data(metadata)) else { return nil }
        return SavedModel(features: other.features, target: other.target, classes: other.classes, medians: other.medians,
                          training: other.training, model: forest)
    }

    /// The `model` object.
    static func forest(_ scanner: inout PayloadScanner) -> IsolationForest? {
        var featureCount: Int?, height: Int?, sampleSize: Int?, seed: UInt64?, threshold: Double?
        var splitFeatures: [Int32]?, slotRows: [Int32]?, splitThresholds: [Float]?, leafPathLengths: [Float]?
        var splitMass: [Double]?, parameters: IsolationForest.Parameters?
        var keys = Set<[UInt8]>()
        guard scanner.consume(0x7B) else { return nil }
        if !scanner.consume(0x7D) {
            repeat {
                guard let key = scanner.plainKey(), keys.insert(key).inserted, scanner.consume(0x3A) else { return nil }
                // Each known key's value must read, or the whole read gives up.
                switch String(decoding: key, as: UTF8.self) {
                case "featureCount": featureCount = scanner.integer().flatMap { Int(exactly: $0) }
                case "height": height = scanner.integer().flatMap { Int(exactly: $0) }
                case "sampleSize": sampleSize = scanner.integer().flatMap { Int(exactly: $0) }
                case "seed": seed = scanner.unsignedInteger()
                case "threshold": threshold = scanner.floatingPoint(Double.self)
                case "splitFeatures": splitFeatures = scanner.array { $0.integer().flatMap { Int32(exactly: $0) } }
                case "slotRows": slotRows = scanner.array { $0.integer().flatMap { Int32(exactly: $0) } }
                case "splitThresholds": splitThresholds = scanner.array { $0.floatingPoint(Float.self) }
                case "leafPathLengths": leafPathLengths = scanner.array { $0.floatingPoint(Float.self) }
                case "splitMass": splitMass = scanner.array { $0.floatingPoint(Double.self) }
                case "parameters":
                    guard let range = scanner.skipValue() else { return nil }
                    parameters = try? ModelFile.canonicalDecoder().decode(IsolationForest.Parameters.self,
                                                                          from: Data(scanner.bytes[range]))
                default:
                    guard scanner.skipValue() != nil else { return nil }
                }
            } while scanner.consume(0x2C)
            guard scanner.consume(0x7D) else { return nil }
        }
        // A key whose value did not read left its variable nil, as did a key that is absent.
        guard let featureCount, let height, let sampleSize, let seed, let threshold, let splitFeatures, let slotRows,
              let splitThresholds, let leafPathLengths, let splitMass, let parameters else { return nil }
        return IsolationForest(storedParameters: parameters, seed: seed, featureCount: featureCount, sampleSize: sampleSize,
                               height: height, threshold: threshold, splitFeatures: splitFeatures,
                               splitThresholds: splitThresholds, leafPathLengths: leafPathLengths, slotRows: slotRows,
                               splitMass: splitMass)
    }
}

/// A cursor over JSON bytes for `IsolationForestPayload`: each reader returns nil (and the
/// whole read gives up) at anything it does not take exactly as `JSONDecoder` would.
struct PayloadScanner {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        skipWhitespace()
    }

    var atEnd: Bool { position == bytes.count }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Takes `byte` (and the whitespace after it) when it comes next.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        skipWhitespace()
        return true
    }

    /// A key without escapes, as bytes.
    mutating func plainKey() -> [UInt8]? {
        guard position < bytes.count, bytes[position] == 0x22 else { return nil }
        let start = position + 1
        var i = start
        while i < bytes.count && bytes[i] != 0x22 {
            if bytes[i] == 0x5C || bytes[i] < 0x20 { return nil }
            i += 1
        }
        guard i < bytes.count else { return nil }
        position = i + 1
        skipWhitespace()
        return Array(bytes[start..<i])
    }

    /// Skips one value of any kind; its byte range (without the whitespace after it).
    mutating func skipValue() -> Range<Int>? {
        let start = position
        var depth = 0
        repeat {
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case 0x7B, 0x5B: depth += 1; position += 1
            case 0x7D, 0x5D:
                guard depth > 0 else { return nil }
                depth -= 1
                position += 1
            case 0x22:
                position += 1
                while position < bytes.count && bytes[position] != 0x22 {
                    position += bytes[position] == 0x5C ? 2 : 1
                }
                guard position < bytes.count else { return nil }
                position += 1
            case 0x2C, 0x3A, 0x20, 0x09, 0x0A, 0x0D:
                guard depth > 0 else { return nil }
                position += 1
            default:
                // A number or a literal: the run of bytes up to the next delimiter.
                while position < bytes.count {
                    switch bytes[position] {
                    case 0x2C, 0x3A, 0x5D, 0x7D, 0x20, 0x09, 0x0A, 0x0D: break
                    default: position += 1; continue
                    }
                    break
                }
            }
        } while depth > 0
        let end = position
        skipWhitespace()
        return start..<end
    }

    /// `[` element (`,` element)* `]`, or `[]`.
    mutating func array<T>(_ element: (inout PayloadScanner) -> T?) -> [T]? {
        guard consume(0x5B) else { return nil }
        var values: [T] = []
        if consume(0x5D) { return values }
        repeat {
            guard let value = element(&self) else { return nil }
            values.append(value)
        } while consume(0x2C)
        guard consume(0x5D) else { return nil }
        return values
    }

    /// The bytes of a number in JSON's grammar, `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`,
    /// and whether its mantissa has a non-zero digit and whether it has a fraction or exponent.
    mutating func numberText() -> (range: Range<Int>, nonZero: Bool, integral: Bool)? {
        let start = position
        var i = position, nonZero = false
        func digits(_ i: inout Int) -> Int {
            let first = i
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            return i - first
        }
        if i < bytes.count && bytes[i] == 0x2D { i += 1 }
        guard i < bytes.count else { return nil }
        if bytes[i] == 0x30 {
            i += 1
        } else {
            let first = i
            guard digits(&i) > 0 else { return nil }
            nonZero = true
            _ = first
        }
        var integral = true
        if i < bytes.count && bytes[i] == 0x2E {
            integral = false
            i += 1
            let first = i
            guard digits(&i) > 0 else { return nil }
            if bytes[first..<i].contains(where: { $0 != 0x30 }) { nonZero = true }
        }
        if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            integral = false
            i += 1
            if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            guard digits(&i) > 0 else { return nil }
        }
        position = i
        skipWhitespace()
        return (start..<i, nonZero, integral)
    }

    /// An integer written without fraction or exponent, within Int64.
    mutating func integer() -> Int64? {
        guard let number = numberText(), number.integral else { return nil }
        return Int64(String(decoding: bytes[number.range], as: UTF8.self))
    }

    mutating func unsignedInteger() -> UInt64? {
        guard let number = numberText(), number.integral else { return nil }
        return UInt64(String(decoding: bytes[number.range], as: UTF8.self))
    }

    /// A number (finite, and zero only when written as zero), or one of the strings the model
    /// files use for the non-finite values.
    mutating func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) -> T? {
        if position < bytes.count && bytes[position] == 0x22 {
            guard let text = plainKey() else { return nil }
            switch text {
            case Array("nan".utf8): return .nan
            case Array("inf".utf8): return .infinity
            case Array("-inf".utf8): return -.infinity
            default: return nil
            }
        }
        guard let number = numberText(), let value = Self.parse(T.self, bytes[number.range]),
              value.isFinite, value != 0 || !number.nonZero else { return nil }
        return value
    }

    /// The number's value, correctly rounded (`strtof`/`strtod`, as `JSONDecoder` and
    /// `Float(String)` round), read from a NUL-terminated copy on the stack: a String per
    /// number cost about 700 instructions.
    static func parse<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type,
                                                                        _ text: Slice<UnsafeRawBufferPointer>) -> T? {
        guard text.count < 48 else { return T(String(decoding: text, as: UTF8.self)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { buffer -> T? in
            for (k, byte) in text.enumerated() { buffer[k] = CChar(bitPattern: byte) }
            buffer[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let start = buffer.baseAddress!
            let value: T
            if T.self == Float.self {
                value = T(strtof(start, &end))
            } else if T.self == Double.self {
                value = T(strtod(start, &end))
            } else {
                return T(String(decoding: text, as: UTF8.self))
            }
            // The grammar was checked, so the whole text is read; anything else gives up.
            return end == start + text.count ? value : nil
        }
    }
}
