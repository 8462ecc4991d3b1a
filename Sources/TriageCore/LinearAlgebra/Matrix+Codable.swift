/// Matrices read from files are checked before use: a stored shape that disagrees with the
/// stored elements (a crafted or corrupted model file) is a decoding error, not a matrix whose
/// kernels read past its storage.
extension Matrix {
    enum CodingKeys: String, CodingKey { case rows, columns, storage }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try c.decode(Int.self, forKey: .rows)
        let columns = try c.decode(Int.self, forKey: .columns)
        // The element count is checked against the elements present, never used to allocate.
        let storage = try c.decode([Scalar].self, forKey: .storage)
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, count == storage.count else {
            throw DecodingError.dataCorruptedError(forKey: .storage, in: c,
                debugDescription: "matrix of \(rows) × \(columns) holds \(storage.count) elements")
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rows, forKey: .rows)
        try c.encode(columns, forKey: .columns)
        try c.encode(storage, forKey: .storage)
    }
}
