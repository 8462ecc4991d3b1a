import TriageCore

/// Class labels of a supervised target column, kept exactly as written in the CSV.
///
/// Classes are ordered numerically when every label is a number (so `2` < `10`), else
/// lexicographically (../shared/CLI.md); class index i is `classes[i]`. A missing target
/// (empty, NaN, NA, null) is an error naming its line and column.
public enum ClassLabels {
    /// Learns the classes of `column` and encodes every row.
    public static func learn(_ table: CSVTable<Float>, column: String) throws(DataError) -> (classes: [String], indices: [Int]) {
        let values = try labels(table, column: column)
        let classes = order(Set(values))
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        return (classes, values.map { index[$0]! })
    }

    /// Encodes `column` with known `classes`; a label not among them is an error.
    public static func encode(_ table: CSVTable<Float>, column: String, classes: [String]) throws(DataError) -> [Int] {
        let values = try labels(table, column: column)
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var result = [Int]()
        result.reserveCapacity(values.count)
        for (row, value) in values.enumerated() {
            guard let i = index[value] else {
                throw DataError(.other("column '\(column)' has label \(DataError.quote(value)), not one of the model's classes (\(classes.joined(separator: ", ")))"),
                                file: table.file, line: table.line(ofRow: row), column: table.fieldNumber(of: column))
            }
            result.append(i)
        }
        return result
    }

    /// Numeric order when every label is a number, else lexicographic.
    public static func order(_ labels: Set<String>) -> [String] {
        let numbers = labels.map { Double($0) }
        if numbers.allSatisfy({ $0 != nil && !$0!.isNaN }) {
            return labels.sorted { (Double($0)!, $0) < (Double($1)!, $1) }
        }
        return labels.sorted()
    }

    static let missingMarkers: Set<String> = ["", "nan", "na", "null"]

    static func labels(_ table: CSVTable<Float>, column: String) throws(DataError) -> [String] {
        guard let values = table.text[column] else {
            throw DataError(.missingColumn, file: table.file, line: 1, columnName: column)
        }
        for (row, value) in values.enumerated() where missingMarkers.contains(value.lowercased()) {
            throw DataError(.other("missing target value in column '\(column)'\(value.isEmpty ? "" : " (\(DataError.quote(value)))")"),
                            file: table.file, line: table.line(ofRow: row), column: table.fieldNumber(of: column))
        }
        return values
    }
}
