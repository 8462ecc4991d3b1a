import Foundation
import Mustache

/// The approval page's template and style sheet (`Sources/TriageServer/Templates`), read and
/// parsed once when the server starts.
///
/// SwiftPM copies the folder into `Triage_TriageServer.resources` beside the executable (the
/// `triage` binary, or the test runner). The generated `Bundle.module` accessor calls
/// `fatalError` when that folder is missing, which would take the whole server down on the first
/// `GET /` of a binary deployed without it; so the folder is looked up here and a missing one
/// leaves the page answering 503 with the reason while the JSON API keeps working.
struct PageResources: Sendable {
    let page: MustacheTemplate
    let styleSheet: [UInt8]
    let icon: [UInt8]

    /// The resource folder's name: `<package>_<target>.resources` on Linux.
    static let bundleName = "Triage_TriageServer.resources"

    static func load() -> Result<PageResources, PageSetupError> {
        guard let folder = templatesFolder() else {
            return .failure(PageSetupError(
                "the approval page's templates are missing: copy \(bundleName) from the build folder beside the triage binary"))
        }
        do {
            let text = try String(contentsOf: folder.appendingPathComponent("page.mustache"), encoding: .utf8)
            let css = try Data(contentsOf: folder.appendingPathComponent("triage.css"))
            let icon = try Data(contentsOf: folder.appendingPathComponent("favicon.svg"))
            return .success(PageResources(page: try MustacheTemplate(string: text), styleSheet: Array(css), icon: Array(icon)))
        } catch {
            return .failure(PageSetupError("the approval page's templates in \(folder.path) cannot be used: \(error)"))
        }
    }

    static func templatesFolder() -> URL? {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent(bundleName),
            Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent(bundleName),
        ].compactMap { $0 }
        for bundle in candidates {
            let templates = bundle.appendingPathComponent("Templates")
            if FileManager.default.fileExists(atPath: templates.appendingPathComponent("page.mustache").path) { return templates }
        }
        #if os(macOS)
        // Xcode and SwiftPM on macOS lay bundles out differently; Bundle.module knows where.
        return Bundle.module.url(forResource: "Templates", withExtension: nil)
        #else
        return nil
        #endif
    }
}

/// Why the approval page cannot be shown (the rest of the server still runs).
struct PageSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
