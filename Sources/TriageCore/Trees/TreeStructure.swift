import Foundation

/// A fitted binary tree as parallel arrays, node 0 the root (scikit-learn's `tree_` layout).
///
/// Node i is a leaf when `feature[i] < 0`. An internal node sends a row left when
/// `x[feature] ≤ threshold`, and a row whose feature is missing (NaN) left when
/// `missingGoesLeft[i]`. Nodes are numbered depth-first, so `leftChild[i] == i + 1`.
/// `value` holds each node's criterion statistics (`width` Doubles per node): weighted class
/// counts for classification, (Σw, Σwy, Σwy²) for regression.
public struct TreeStructure: Sendable, Equatable {
    public internal(set) var feature: [Int32] = []
    public internal(set) var threshold: [Float] = []
    public internal(set) var missingGoesLeft: [Bool] = []
    public internal(set) var leftChild: [Int32] = []
    public internal(set) var rightChild: [Int32] = []
    /// Training samples (distinct rows of the sample) reaching the node.
    public internal(set) var sampleCount: [Int32] = []
    public internal(set) var impurity: [Double] = []
    public internal(set) var value: [Double] = []
    public let width: Int

    public init(width: Int) { self.width = width }

    public var nodeCount: Int { feature.count }
    public var leafCount: Int { feature.lazy.filter { $0 < 0 }.count }
    public func isLeaf(_ node: Int) -> Bool { feature[node] < 0 }

    /// Depth of the deepest leaf (a lone root has depth 0).
    public var depth: Int {
        guard nodeCount > 0 else { return 0 }
        var depths = [Int](repeating: 0, count: nodeCount)
        var deepest = 0
        for i in 0..<nodeCount where feature[i] >= 0 {
            depths[Int(leftChild[i])] = depths[i] + 1
            depths[Int(rightChild[i])] = depths[i] + 1
            deepest = max(deepest, depths[i] + 1)
        }
        return deepest
    }

    /// The statistics of `node`.
    public func statistics(_ node: Int) -> ArraySlice<Double> { value[(node * width)..<((node + 1) * width)] }

    mutating func addNode(parent: Int, isLeft: Bool, statistics: UnsafePointer<Double>, samples: Int,
                          impurity nodeImpurity: Double) -> Int {
        let index = feature.count
        feature.append(-1); threshold.append(0); missingGoesLeft.append(false)
        leftChild.append(-1); rightChild.append(-1)
        sampleCount.append(Int32(samples)); impurity.append(nodeImpurity)
        value.append(contentsOf: UnsafeBufferPointer(start: statistics, count: width))
        if parent >= 0 {
            if isLeft { leftChild[parent] = Int32(index) } else { rightChild[parent] = Int32(index) }
        }
        return index
    }

    mutating func setSplit(_ node: Int, feature f: Int, threshold t: Float, missingGoesLeft left: Bool) {
        feature[node] = Int32(f); threshold[node] = t; missingGoesLeft[node] = left
    }

    /// The leaf reached by `row` (row[feature] read through the pointer).
    @inline(__always)
    public func leaf(of row: UnsafePointer<Float>) -> Int {
        var node = 0
        while feature[node] >= 0 {
            let x = row[Int(feature[node])]
            let goLeft = x.isNaN ? missingGoesLeft[node] : x <= threshold[node]
            node = Int(goLeft ? leftChild[node] : rightChild[node])
        }
        return node
    }

    /// Nodes visited by `row` from the root to its leaf.
    public func path(of row: [Float]) -> [Int] {
        var nodes = [0]
        var node = 0
        while feature[node] >= 0 {
            let x = row[Int(feature[node])]
            let goLeft = x.isNaN ? missingGoesLeft[node] : x <= threshold[node]
            node = Int(goLeft ? leftChild[node] : rightChild[node])
            nodes.append(node)
        }
        return nodes
    }
}

// Stored compactly: each array as base64 of its little-endian bytes. A grown forest has
// millions of nodes, and JSON numbers would make its file several times larger and slower.
extension TreeStructure: Codable {
    enum CodingKeys: String, CodingKey {
        case width, feature, threshold, missingGoesLeft = "missing_goes_left", rightChild = "right_child"
        case sampleCount = "sample_count", impurity, value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(width, forKey: .width)
        try c.encode(TreeStructure.pack(feature), forKey: .feature)
        try c.encode(TreeStructure.pack(threshold.map(\.bitPattern)), forKey: .threshold)
        try c.encode(TreeStructure.pack(missingGoesLeft.map { UInt8($0 ? 1 : 0) }), forKey: .missingGoesLeft)
        try c.encode(TreeStructure.pack(rightChild), forKey: .rightChild)
        try c.encode(TreeStructure.pack(sampleCount), forKey: .sampleCount)
        try c.encode(TreeStructure.pack(impurity.map(\.bitPattern)), forKey: .impurity)
        try c.encode(TreeStructure.pack(value.map(\.bitPattern)), forKey: .value)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        width = try c.decode(Int.self, forKey: .width)
        func field<T: FixedWidthInteger>(_ key: CodingKeys, _: T.Type) throws -> [T] {
            guard let values: [T] = TreeStructure.unpack(try c.decode(String.self, forKey: key)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not base64 of \(T.self) values")
            }
            return values
        }
        feature = try field(.feature, Int32.self)
        threshold = try field(.threshold, UInt32.self).map(Float.init(bitPattern:))
        missingGoesLeft = try field(.missingGoesLeft, UInt8.self).map { $0 != 0 }
        rightChild = try field(.rightChild, Int32.self)
        sampleCount = try field(.sampleCount, Int32.self)
        impurity = try field(.impurity, UInt64.self).map(Double.init(bitPattern:))
        value = try field(.value, UInt64.self).map(Double.init(bitPattern:))
        let n = feature.count
        guard width > 0, [threshold.count, missingGoesLeft.count, rightChild.count, sampleCount.count, impurity.count].allSatisfy({ $0 == n }),
              value.count == n * width else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "tree arrays differ in length"))
        }
        // Node statistics are sums of sample weights or targets: finite in any tree we grow.
        guard value.allSatisfy(\.isFinite), sampleCount.allSatisfy({ $0 >= 0 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "tree node statistics are not finite"))
        }
        // Rebuild left children (depth-first numbering) and check every link, so a crafted file
        // cannot make prediction loop or read out of bounds.
        leftChild = [Int32](repeating: -1, count: n)
        for i in 0..<n where feature[i] >= 0 {
            let r = Int(rightChild[i])
            guard i + 1 < n, r > i + 1, r < n else {
                throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "tree node \(i) has invalid children"))
            }
            leftChild[i] = Int32(i + 1)
        }
    }

    /// Feature indices must lie below `featureCount` (checked by the owning model on decode).
    public func validate(featureCount: Int) -> Bool {
        feature.allSatisfy { $0 < featureCount } && nodeCount > 0
    }

    /// A classification tree's statistics are weighted class counts: never negative.
    public var hasClassCounts: Bool { value.allSatisfy { $0 >= 0 } }

    static func pack<T: FixedWidthInteger>(_ values: [T]) -> String {
        let little = values.map { $0.littleEndian }
        return little.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    static func unpack<T: FixedWidthInteger>(_ text: String) -> [T]? {
        guard let data = Data(base64Encoded: text), data.count % MemoryLayout<T>.size == 0 else { return nil }
        var values = [T](repeating: 0, count: data.count / MemoryLayout<T>.size)
        values.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        return values.map { T(littleEndian: $0) }
    }
}
