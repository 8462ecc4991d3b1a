import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

/// The plain-record lane (PlainRecords.swift) must agree bit for bit with the general loop and
/// leave every error exactly as the general loop reports it. Files here have thousands of rows
/// because the lane only runs on records well inside a chunk.
@Suite struct PlainRecordsTests {
    /// The general loop alone.
    static func generalOnly(_ options: CSVOptions) -> CSVOptions {
        var options = options
        options.plainRecordLane = false
        return options
    }

    /// A random field: mostly plain decimals of every digit count around the lane's limits,
    /// sometimes a form only the general loop takes.
    static func field(_ rng: inout RandomSource) -> String {
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(rng.integer(below: 10))) }) }
        let sign = rng.integer(below: 3) == 0 ? "-" : ""
        switch rng.integer(below: 20) {
        case 0: return ""
        case 1: return "+" + digits(1 + rng.integer(below: 4))
        case 2: return sign + digits(1 + rng.integer(below: 3)) + "." + digits(rng.integer(below: 4)) + "e" + String(rng.integer(below: 30) - 15)
        case 3: return " " + digits(2) + " "
        case 4: return "NaN"
        case 5: return sign + digits(rng.integer(below: 12)) + "." + digits(1 + rng.integer(below: 12))
        case 6: return sign + "0." + String(repeating: "0", count: rng.integer(below: 9)) + digits(1 + rng.integer(below: 6))
        case 7: return sign + digits(1 + rng.integer(below: 10))
        case 8: return sign + digits(1 + rng.integer(below: 7)) + "."
        case 9: return sign + "." + digits(1 + rng.integer(below: 8))
        default: return sign + digits(1 + rng.integer(below: 7)) + "." + digits(rng.integer(below: 8))
        }
    }

    static func randomFile(rows: Int, columns: Int, seed: UInt64) -> (text: String, fields: [[String]]) {
        var rng = RandomSource(seed: seed)
        var text = (0..<columns).map { "c\($0)" }.joined(separator: ",") + "\n"
        var fields = [[String]]()
        for i in 0..<rows {
            if i % 577 == 5 { text += "\n" }
            let row = (0..<columns).map { _ in field(&rng) }
            fields.append(row)
            text += row.joined(separator: ",") + (i % 7 == 0 ? "\r\n" : "\n")
        }
        return (text, fields)
    }

    @Test(arguments: [1, 2, 3])
    func laneMatchesTheGeneralLoopBitForBit(threads: Int) throws {
        let (text, fields) = Self.randomFile(rows: 6_000, columns: 5, seed: 31)
        let path = temporaryFile(text)
        var options = CSVOptions(threads: threads)
        options.minimumChunkBytes = 4_000
        let general = Self.generalOnly(options)
        let floats = try CSVReader.read(path, options: options)
        let floatsReference = try CSVReader.read(path, options: general)
        #expect(floats.numeric.storage.map(\.bitPattern) == floatsReference.numeric.storage.map(\.bitPattern))
        let doubles = try CSVReader.readDouble(path, options: options)
        let doublesReference = try CSVReader.readDouble(path, options: general)
        #expect(doubles.numeric.storage.map(\.bitPattern) == doublesReference.numeric.storage.map(\.bitPattern))
        #expect((0..<6_000).map(doubles.line(ofRow:)) == (0..<6_000).map(doublesReference.line(ofRow:)))
        // And both are correctly rounded (Swift's Double(String) is exact).
        var mismatches = 0
        for (r, row) in fields.enumerated() {
            for (c, text) in row.enumerated() {
                guard let expected = Double(text) else { continue }
                let got = doubles.numeric[r, c]
                if !(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN)) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    /// Skipped columns (a numeric label left out of the features, or a text one) go through the
    /// lane or give it up, and the kept columns land in their slots exactly as the general loop
    /// puts them.
    @Test(arguments: [1, 2])
    func skippedColumnsMatchTheGeneralLoop(threads: Int) throws {
        var rng = RandomSource(seed: 7)
        var numericLabel = "a,label,b,c\n", textLabel = "a,b,c,label\n"
        for i in 0..<5_000 {
            let a = Double(rng.integer(below: 100_000)) / 1000, b = -Double(rng.integer(below: 9_999)) / 7
            let c = Double(rng.integer(below: 50))
            numericLabel += "\(a),\(i % 2),\(b),\(c)\n"
            textLabel += "\(a),\(b),\(c),\(i % 3 == 0 ? "attack" : "normal")\n"
        }
        for text in [numericLabel, textLabel] {
            let path = temporaryFile(text)
            var options = CSVOptions(roles: ["label": .skip], threads: threads)
            options.minimumChunkBytes = 4_000
            let table = try CSVReader.read(path, options: options)
            let reference = try CSVReader.read(path, options: Self.generalOnly(options))
            #expect(table.numericNames == ["a", "b", "c"])
            #expect(table.numeric.columns == 3 && table.numeric.rows == 5_000)
            #expect(table.numeric.storage.map(\.bitPattern) == reference.numeric.storage.map(\.bitPattern))
            #expect((0..<5_000).map(table.line(ofRow:)) == (0..<5_000).map(reference.line(ofRow:)))
        }
    }

    @Test func plainFieldsOfEveryShape() throws {
        let values = ["0", "-0", "7", "-7", ".5", "-.5", "5.", "-5.", "0.1", "1234567", "1234567.1234567", "-9999999.9999999",
                      "0.0000001", "12345678", "0.12345678", "00000001.5", "3.14159265358979", "16777217", "0.30000000000000004"]
        var text = "x,y\n"
        for i in 0..<400 { for v in values { text += "\(v),\(i)\n" } }
        let table = try CSVReader.readDouble(temporaryFile(text), options: CSVOptions(threads: 1))
        let floats = try CSVReader.read(temporaryFile(text), options: CSVOptions(threads: 1))
        for i in 0..<(400 * values.count) {
            let expected = Double(values[i % values.count])!
            #expect(table.numeric[i, 0].bitPattern == expected.bitPattern, "\(values[i % values.count])")
            #expect(floats.numeric[i, 0].bitPattern == Float(expected).bitPattern)
            #expect(table.numeric[i, 1] == Double(i / values.count))
        }
    }

    /// Errors inside long plain runs: same kind, line, column and value as the general loop.
    @Test(arguments: ["abc", ".", "-", "1.2.3", "1-2", "0x10", "1,2", "\"4\"x"])
    func errorsInsidePlainRunsAreReportedExactly(bad: String) {
        var text = "a,b,c,d,e,f\n"
        for i in 0..<3_000 {
            text += i == 2_000 ? "1,2,3,\(bad),5,6\n" : "\(i),-\(i).25,0.5,\(i % 10),1e3,7\n"
        }
        let path = temporaryFile(text)
        for threads in [1, 2] {
            var options = CSVOptions(threads: threads)
            options.minimumChunkBytes = 10_000
            let error = readError(path, options: options)
            let reference = readError(path, options: Self.generalOnly(options))
            #expect(error != nil)
            #expect(error?.kind == reference?.kind)
            #expect(error?.line == 2_002 && error?.line == reference?.line)
            #expect(error?.column == reference?.column && error?.value == reference?.value)
        }
    }

    @Test func raggedRowsInsidePlainRuns() {
        for (row, expectedFound) in [("1,2,3,4", 4), ("1,2,3,4,5,6", 6), ("1,2,3,4,5\r", 5), ("1,2,3,4,5,,", 7)] {
            var text = "a,b,c,d,e\n"
            for i in 0..<3_000 { text += i == 1_234 ? row + "\n" : "\(i).5,2,3,4,5\n" }
            let error = readError(temporaryFile(text), options: CSVOptions(threads: 1))
            if row.hasSuffix("\r") {
                // A bare \r before \n is the record's CRLF: 5 fields, no error.
                #expect(error == nil)
            } else {
                #expect(error?.kind == .raggedRow(expected: 5, found: expectedFound))
                #expect(error?.line == 1_236)
            }
        }
    }

    @Test func digitRunLengthOfEveryByteAtEveryPosition() {
        for position in 0..<8 {
            for byte in 0...255 {
                var word: UInt64 = 0
                for k in 0..<8 {
                    let b: UInt64 = k < position ? 0x35 : (k == position ? UInt64(byte) : 0xFF)
                    word |= b << UInt64(8 * k)
                }
                let isDigit = byte >= 0x30 && byte <= 0x39
                #expect(NumberParser.digitRunLength(word) == (isDigit ? position + 1 : position))
            }
        }
        let digits = Array("98765432".utf8)
        let word = digits.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
        #expect(NumberParser.digitRunLength(word) == 8)
        for length in 0...7 {
            #expect(NumberParser.digitRunValue(word, length: length) == UInt64(String(decoding: digits.prefix(length), as: UTF8.self)) ?? 0)
        }
    }
}
