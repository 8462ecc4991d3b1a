import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

/// Writes `bytes` to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "data.csv") -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent(name).path
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

func temporaryFile(_ text: String, name: String = "data.csv") -> String { temporaryFile(Array(text.utf8), name: name) }

/// The DataError thrown by reading `path`, or nil.
func readError(_ path: String, options: CSVOptions = CSVOptions()) -> DataError? {
    do {
        _ = try CSVReader.read(path, options: options)
        return nil
    } catch {
        return error
    }
}

@Suite struct CSVReaderTests {
    @Test func parsesNumbersMissingValuesAndInfinities() throws {
        let path = temporaryFile("a,b,c\n1,-2.5e-3,inf\n,NaN,NA\nnull,-inf,+7\n 3 ,1E2,N/A\n")
        let table = try CSVReader.readDouble(path)
        #expect(table.header == ["a", "b", "c"])
        #expect(table.rowCount == 4)
        let m = table.numeric
        #expect(m[0, 0] == 1 && m[0, 1] == -0.0025 && m[0, 2] == .infinity)
        #expect(m[1, 0].isNaN && m[1, 1].isNaN && m[1, 2].isNaN)
        #expect(m[2, 0].isNaN && m[2, 1] == -.infinity && m[2, 2] == 7)
        #expect(m[3, 0] == 3 && m[3, 1] == 100 && m[3, 2].isNaN)
    }

    @Test func numbersAreCorrectlyRounded() throws {
        let values = ["0.1", "3.141592653589793", "1e-300", "2.2250738585072014e-308", "123456789012345678901234",
                      "0.30000000000000004", "-0", "9007199254740993", "1.7976931348623157e308", "5e-324",
                      "00012.5000", ".5", "5.", "1e22", "1e23"]
        let path = temporaryFile("x\n" + values.joined(separator: "\n") + "\n")
        let table = try CSVReader.readDouble(path)
        for (i, text) in values.enumerated() {
            #expect(table.numeric[i, 0] == Double(text)!, "\(text)")
        }
    }

    @Test func crlfBomQuotedNumbersAndMissingTrailingNewlineWork() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("\"a\",b\r\n\"1.5\",2\r\n3,\"4\"".utf8)
        let table = try CSVReader.read(temporaryFile(bytes))
        #expect(table.header == ["a", "b"])
        #expect(table.numeric == Matrix<Float>([[1.5, 2], [3, 4]]))
    }

    @Test func textColumnsKeepQuotesEscapesAndLineBreaks() throws {
        let path = temporaryFile("id,label,v\n1,\"say \"\"hi\"\", ok\",2\n2,\"two\nlines\",3\n\n3,plain,4\n")
        let table = try CSVReader.read(path, options: CSVOptions(roles: ["label": .text]))
        #expect(table.text["label"] == ["say \"hi\", ok", "two\nlines", "plain"])
        #expect(table.numericNames == ["id", "v"])
        #expect(table.numeric == Matrix<Float>([[1, 2], [2, 3], [3, 4]]))
        #expect((0..<3).map(table.line(ofRow:)) == [2, 3, 6], "physical lines account for the quoted break and the blank line")
    }

    @Test func skippedColumnsAreNotParsed() throws {
        let path = temporaryFile("t,v\n2026-01-05T13:45:00Z,1\nnot a number,2\n")
        let table = try CSVReader.read(path, options: CSVOptions(roles: ["t": .skip]))
        #expect(table.numericNames == ["v"])
        #expect(table.numeric.column(0) == [1, 2])
    }

    @Test(arguments: [1, 2, 3, 8])
    func parallelChunksGiveTheSameResultAsOneThread(threads: Int) throws {
        var rng = RandomSource(seed: 12)
        var text = "a,b,name,c\n"
        for i in 0..<3_000 {
            let name = i % 97 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "n\(i)"
            if i % 211 == 0 { text += "\n" }
            text += "\(rng.uniform(-1e6, 1e6)),\(i % 13 == 0 ? "" : String(rng.integer(below: 1000))),\(name),\(rng.normal())\r\n"
        }
        let path = temporaryFile(text)
        let reference = try CSVReader.read(path, options: CSVOptions(roles: ["name": .text], threads: 1))
        var options = CSVOptions(roles: ["name": .text], threads: threads)
        options.minimumChunkBytes = 1_000
        let table = try CSVReader.read(path, options: options)
        #expect(table.rowCount == 3_000)
        #expect(table.numeric.storage.elementsEqual(reference.numeric.storage) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        #expect(table.text == reference.text)
        #expect((0..<3_000).map(table.line(ofRow:)) == (0..<3_000).map(reference.line(ofRow:)))
    }

    @Test func headerOnlyIsAllowedWhenRowsAreOptional() throws {
        let table = try CSVReader.read(temporaryFile("a,b\n"), options: CSVOptions(requireRows: false))
        #expect(table.rowCount == 0 && table.numeric.columns == 2)
    }
}

/// The bad-input battery: every case is a clear error with file, line and column.
@Suite struct CSVBadInputTests {
    @Test func emptyFile() {
        let error = readError(temporaryFile(""))
        #expect(error?.kind == .emptyFile)
        #expect(readError(temporaryFile([0xEF, 0xBB, 0xBF, 0x0A]))?.kind == .emptyFile)
    }

    @Test func headerOnlyHasNoRows() {
        let path = temporaryFile("a,b\n")
        let error = readError(path)
        #expect(error?.kind == .noRows)
        #expect(error?.description == "\(path): no data rows after the header")
    }

    @Test func raggedRowsNameTheLine() {
        let tooMany = temporaryFile("a,b\n1,2\n3,4,5\n")
        let error = readError(tooMany)
        #expect(error?.kind == .raggedRow(expected: 2, found: 3))
        #expect(error?.line == 3)
        #expect(error?.description == "\(tooMany):3:3: row has 3 fields, expected 2 as in the header")
        let tooFew = readError(temporaryFile("a,b,c\n1,2,3\n4,5\n"))
        #expect(tooFew?.kind == .raggedRow(expected: 3, found: 2))
        #expect(tooFew?.line == 3)
    }

    @Test func textInNumericColumnNamesLineColumnAndValue() {
        let path = temporaryFile("a,b\n1,2\n3,abc\n")
        let error = readError(path)
        #expect(error?.kind == .notANumber)
        #expect(error?.line == 3 && error?.column == 2 && error?.columnName == "b" && error?.value == "abc")
        #expect(error?.description == "\(path):3:2: column 'b' expects a number, got \"abc\"")
    }

    @Test func errorInLaterParallelChunkReportsTheEarliest() {
        var text = "a,b\n"
        for i in 0..<5_000 { text += i == 4_000 || i == 4_500 ? "1,x\(i)\n" : "\(i),\(i)\n" }
        var options = CSVOptions(threads: 4)
        options.minimumChunkBytes = 500
        let error = readError(temporaryFile(text), options: options)
        #expect(error?.line == 4_002)
        #expect(error?.value == "x4000")
    }

    @Test func unterminatedQuote() {
        let error = readError(temporaryFile("a,b\n1,\"2\n3,4\n"))
        #expect(error?.kind == .unterminatedQuote)
        #expect(error?.line == 2 && error?.column == 2)
    }

    @Test func characterAfterClosingQuote() {
        #expect(readError(temporaryFile("a,b\n1,\"2\"x\n"))?.kind == .unexpectedAfterQuote)
    }

    @Test func invalidUTF8() {
        let numeric = readError(temporaryFile(Array("a,b\n1,".utf8) + [0xFF, 0xFE] + Array("\n".utf8)))
        #expect(numeric?.kind == .invalidUTF8)
        #expect(numeric?.line == 2 && numeric?.column == 2)
        let text = readError(temporaryFile(Array("a,b\n1,x".utf8) + [0xC3] + Array("\n".utf8)), options: CSVOptions(roles: ["b": .text]))
        #expect(text?.kind == .invalidUTF8)
        let header = readError(temporaryFile(Array("a,".utf8) + [0xFF] + Array("\n1,2\n".utf8)))
        #expect(header?.kind == .invalidUTF8)
    }

    @Test func directoryAndMissingPath() {
        #expect(readError(FileManager.default.temporaryDirectory.path)?.kind == .isDirectory)
        let error = readError("/nonexistent/triage/data.csv")
        #expect(error?.kind == .notFound)
        #expect(error?.description == "/nonexistent/triage/data.csv: no such file")
    }

    @Test func duplicateColumnNames() {
        let error = readError(temporaryFile("a,b,a\n1,2,3\n"))
        #expect(error?.kind == .duplicateColumn(firstField: 1))
        #expect(error?.column == 3 && error?.line == 1)
    }

    @Test func millionCharacterField() {
        let error = readError(temporaryFile("a,b\n1," + String(repeating: "9", count: 1_000_000) + "\n"))
        #expect(error?.kind == .fieldTooLong(limit: 65_536))
        #expect(error?.line == 2 && error?.column == 2)
        let quoted = readError(temporaryFile("a,b\n1,\"" + String(repeating: "x", count: 1_000_000) + "\"\n"),
                               options: CSVOptions(roles: ["b": .text]))
        #expect(quoted?.kind == .fieldTooLong(limit: 65_536))
    }

    @Test func nulBytes() {
        let error = readError(temporaryFile(Array("a,b\n1,2\n3,".utf8) + [0x34, 0x00] + Array("\n".utf8)))
        #expect(error?.kind == .nulByte)
        #expect(error?.line == 3 && error?.column == 2)
    }
}
