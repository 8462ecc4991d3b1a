/// A tree printed as nested if/else rules, the form operators read to see why a prediction was
/// made: each test names its feature and threshold (and where missing values go), each leaf the
/// predicted class, its training sample count and class distribution.
///
/// ```
/// if glucose <= 127.5:
///   if bmi <= 26.45 or bmi is missing:
///     predict 0  (samples 120; 0: 117 (97.5%), 1: 3 (2.5%))
///   else:
///     …
/// ```
public enum TreeRules {
    public static func render(_ tree: TreeStructure, featureNames: [String], classNames: [String], indent: String = "  ") -> [String] {
        guard tree.nodeCount > 0 else { return [] }
        var lines = [String]()
        // Explicit stack (a grown tree can be thousands of levels deep on adversarial data).
        enum Item { case node(Int, Int), text(String, Int) }
        var stack: [Item] = [.node(0, 0)]
        while let item = stack.popLast() {
            switch item {
            case .text(let text, let depth):
                lines.append(String(repeating: indent, count: depth) + text)
            case .node(let node, let depth):
                let pad = String(repeating: indent, count: depth)
                if tree.isLeaf(node) {
                    lines.append(pad + leafText(tree, node, classNames: classNames))
                    continue
                }
                let name = featureNames[Int(tree.feature[node])]
                let threshold = tree.threshold[node]
                let test = threshold == .infinity ? "\(name) is not missing" : "\(name) <= \(threshold)"
                let missing = tree.missingGoesLeft[node] && threshold != .infinity ? " or \(name) is missing" : ""
                lines.append(pad + "if \(test)\(missing):")
                stack.append(.node(Int(tree.rightChild[node]), depth + 1))
                stack.append(.text("else:", depth))
                stack.append(.node(Int(tree.leftChild[node]), depth + 1))
            }
        }
        return lines
    }

    static func leafText(_ tree: TreeStructure, _ node: Int, classNames: [String]) -> String {
        let stats = Array(tree.statistics(node))
        let total = stats.reduce(0, +)
        let best = stats.indices.max { stats[$0] < stats[$1] || (stats[$0] == stats[$1] && $0 > $1) } ?? 0
        let parts = stats.enumerated().map { k, w -> String in
            // Int(exactly:) rather than Int(_:): a weight past Int's range (a damaged model
            // file; the fuzzer found 1e300) would trap instead of printing.
            let count = Int(exactly: w).map(String.init) ?? String(format: "%.4g", w)
            return "\(classNames[k]): \(count) (\(String(format: "%.1f", total > 0 ? 100 * w / total : 0))%)"
        }
        return "predict \(classNames[best])  (samples \(tree.sampleCount[node]); \(parts.joined(separator: ", ")))"
    }
}
