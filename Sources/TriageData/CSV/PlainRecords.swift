import TriageCore

/// The fast lane of the CSV reader: records made only of plain decimals (`-12.345`, `7`, `.5`),
/// at most 7 integer and 15 fraction digits each, separated by commas and ended by `\n` or
/// `\r\n`, in a file whose columns are all numeric or skipped (a numeric `label` left out of
/// the features is still a plain decimal to step over). That is what numeric exports look like
/// (numpy `%.6g`, pandas `to_csv` of float32), and it is where nearly all the time went.
///
/// The general loop paid about two mispredicted branches per field (the digit loops exit at a
/// length that varies from field to field) plus generic role/slot/delimiter dispatch. Here each
/// digit run is found and valued 8 bytes at a time (SWAR, as in Lemire's fast_float: Lemire,
/// "Number parsing at a gigabyte per second", Software: Practice and Experience 51(8), 2021),
/// so a field costs a fixed, branch-light sequence. Measured on the 1 M × 12 benchmark file,
/// one thread: general loop 0.29 CPU s per parse, this lane 0.18, and 0.15 with two chunks
/// parsed side by side (parseChunkPair).
///
/// Anything else (exponents, `+`, blanks, missing values, quotes, long digit runs, blank lines,
/// a wrong field count) makes the lane give the record back to the general loop untouched in
/// meaning: the general loop re-parses it from its first byte and overwrites any values
/// stored. The value computed here is bit-identical to the general parser's: with at most 19
/// digits and a mantissa below 2^53 (checked), the mantissa is the same exact integer and both compute
/// `Double(m) / 10^k` (one correctly rounded division, Clinger's fast path), then narrow.
extension ByteSource {
    /// Upper bound of the bytes one field of the lane reads from its first byte (sign, 8-byte
    /// integer window, dot, two 8-byte fraction windows); a record of `columns` fields starting at
    /// `p` is only tried when `p + plainFieldReach * columns <= end`, so no load crosses `end`.
    static let plainFieldReach = 26

    /// Parses the plain record at `start` into `row[slots[i]]` for each field i (a skipped
    /// field, slot −1, is parsed and dropped); returns where the next record starts, or nil
    /// (with `row` partly written) when the record is not plain.
    @inline(__always)
    func parsePlainRecord<S: BLASScalar>(at start: Int, columns: Int, row: UnsafeMutablePointer<S>,
                                         slots: UnsafePointer<Int>, powers: NumberParser.PlainPowers) -> Int? {
        var p = base + start
        var field = 0
        while true {
            guard let (value, stop) = NumberParser.parsePlainDecimal(p, powers: powers) else { return nil }
            // The same fields are skipped in every record, so this branch predicts perfectly.
            let slot = slots[field]
            if slot >= 0 { row[slot] = S(value) }
            field += 1
            if field < columns {
                guard stop.pointee == 0x2C else { return nil }
                p = stop + 1
            } else {
                return Self.recordEnd(after: stop).map { $0 - base }
            }
        }
    }

    /// Where the next record starts when `stop` is `\n` or `\r\n`.
    @inline(__always)
    static func recordEnd(after stop: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>? {
        if stop.pointee == 0x0A { return stop + 1 }
        if stop.pointee == 0x0D && stop[1] == 0x0A { return stop + 2 }
        return nil
    }

    /// Two plain records of different chunks, field by field in turn (see parseChunkPair);
    /// nil unless both are plain.
    @inline(__always)
    func parsePlainRecordPair<S: BLASScalar>(at first: Int, _ second: Int, columns: Int,
                                             rows: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>),
                                             slots: UnsafePointer<Int>, powers: NumberParser.PlainPowers) -> (Int, Int)? {
        var a = base + first
        var b = base + second
        var field = 0
        while true {
            guard let (valueA, stopA) = NumberParser.parsePlainDecimal(a, powers: powers),
                  let (valueB, stopB) = NumberParser.parsePlainDecimal(b, powers: powers) else { return nil }
            let slot = slots[field]
            if slot >= 0 {
                rows.0[slot] = S(valueA)
                rows.1[slot] = S(valueB)
            }
            field += 1
            if field < columns {
                guard stopA.pointee == 0x2C && stopB.pointee == 0x2C else { return nil }
                a = stopA + 1
                b = stopB + 1
            } else {
                guard let nextA = Self.recordEnd(after: stopA), let nextB = Self.recordEnd(after: stopB) else { return nil }
                return (nextA - base, nextB - base)
            }
        }
    }
}

extension NumberParser {
    /// Index (0...8) of the first byte of `word` (little-endian: byte 0 first) that is not an
    /// ASCII digit. A byte b is a digit iff its high nibble is 3 and so is that of b + 6; the
    /// addition can carry only out of a non-digit byte, which lies after the digits counted.
    @inline(__always)
    static func digitRunLength(_ word: UInt64) -> Int {
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        let classes = (word & high) | (((word &+ 0x0606_0606_0606_0606) & high) >> 4)
        return (classes ^ 0x3333_3333_3333_3333).trailingZeroBitCount >> 3
    }

    /// Value of the first `length` (0...7) digits of `word`, most significant first.
    @inline(__always)
    static func digitRunValue(_ word: UInt64, length: Int) -> UInt64 {
        // Move the digits to the top bytes so the low bytes act as leading zeros. Two masking
        // shifts (8, then 56 - 8·length) make length 0 give 0 without a branch.
        eightDigitValue((word &<< 8) &<< UInt64(56 - 8 * length))
    }

    /// Value of the 8 digits of `word`, most significant first: pairs, quads and octets
    /// combined with three multiplies (fast_float's parse_eight_digits_unrolled).
    @inline(__always)
    static func eightDigitValue(_ word: UInt64) -> UInt64 {
        var v = word & 0x0F0F_0F0F_0F0F_0F0F
        v = (v &* 10) &+ (v >> 8)
        let mask: UInt64 = 0x0000_00FF_0000_00FF
        v = ((v & mask) &* 0x000F_4240_0000_0064 &+ ((v >> 16) & mask) &* 0x0000_2710_0000_0001) >> 32
        return v & 0xFFFF_FFFF
    }

    /// 10^0 ... 10^15 as Double and as UInt64, indexed by a fraction length.
    struct PlainPowers {
        let double: UnsafePointer<Double>
        let integer: UnsafePointer<UInt64>
    }

    /// Runs `body` with the power tables in stack memory. Indexing memory costs a load; the
    /// `switch` of `exactPower` compiled here to an indirect jump per field, mispredicted
    /// whenever the fraction length changed (about a third of the lane's time, perf annotate).
    static func withPlainPowers<R>(_ body: (PlainPowers) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 16) { double in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 16) { integer in
                var power: UInt64 = 1
                for e in 0..<16 {
                    integer.initializeElement(at: e, to: power)
                    double.initializeElement(at: e, to: Double(power))
                    power *= 10
                }
                return body(PlainPowers(double: UnsafePointer(double.baseAddress!), integer: UnsafePointer(integer.baseAddress!)))
            }
        }
    }

    /// Parses `-?d{0,7}(.d{0,15})?` with at least one digit at `p`; returns the value and the
    /// first byte after it, or nil for anything else. Reads up to 26 bytes from `p` whatever
    /// the text (the caller guarantees they are mapped).
    @inline(__always)
    static func parsePlainDecimal(_ start: UnsafePointer<UInt8>, powers: PlainPowers) -> (Double, UnsafePointer<UInt8>)? {
        var p = start
        let negative = p.pointee == UInt8(ascii: "-")
        if negative { p += 1 }
        let integerWord = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self)
        let integerLength = digitRunLength(integerWord)
        guard integerLength < 8 else { return nil }
        var mantissa = digitRunValue(integerWord, length: integerLength)
        p += integerLength
        var fractionLength = 0
        if p.pointee == UInt8(ascii: ".") {
            let fractionWord = UnsafeRawPointer(p + 1).loadUnaligned(as: UInt64.self)
            fractionLength = digitRunLength(fractionWord)
            if fractionLength < 8 {
                mantissa = mantissa &* powers.integer[fractionLength] &+ digitRunValue(fractionWord, length: fractionLength)
            } else {
                // 8 to 15 fraction digits (`%.6g` of 0.00123456): a second window. Past 19
                // digits the integer could wrap (the general parser then rounds differently),
                // past 2^53 Clinger's fast path does not apply; both go to the general loop.
                let tailWord = UnsafeRawPointer(p + 9).loadUnaligned(as: UInt64.self)
                let tailLength = digitRunLength(tailWord)
                guard tailLength < 8 else { return nil }
                mantissa = (mantissa &* 100_000_000 &+ eightDigitValue(fractionWord)) &* powers.integer[tailLength]
                    &+ digitRunValue(tailWord, length: tailLength)
                fractionLength = 8 + tailLength
                guard integerLength + fractionLength <= 19 && mantissa < (1 << 53) else { return nil }
            }
            p += 1 + fractionLength
        }
        guard integerLength + fractionLength > 0 else { return nil }
        // Dividing by 10^0 = 1 is exact, so no branch on the fraction length. The mantissa is
        // below 2^53, so the signed conversion (one instruction; the unsigned one is a
        // sequence without AVX-512) is exact. The sign is OR-ed into the bit pattern: a
        // `negative ? -v : v` compiled to a branch mispredicted on every other random sign.
        let magnitude = Double(Int64(bitPattern: mantissa)) / powers.double[fractionLength]
        let sign = UInt64(negative ? 1 : 0) << 63
        return (Double(bitPattern: magnitude.bitPattern | sign), p)
    }
}
