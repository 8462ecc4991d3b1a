// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses for every parser of outside input. Kept out of the main package so the
// normal build and CI never see them; built only by ../scripts/fuzz.sh with
//   swift build -c release --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing
// (-enable-testing lets the harnesses reach internal switches such as the CSV reader's
// plain-record lane and TriageRuntime's model registry through `@testable import`).
let harness: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "TriageFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Triage", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"]),
        .executableTarget(name: "FuzzCSV", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzMetricsRow", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzTimestamp", dependencies: ["FuzzSupport", .product(name: "TriageCore", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzModelFile", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzBundle", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzIncidentLog", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzJSONRows", dependencies: ["FuzzSupport", .product(name: "TriageData", package: "Triage")],
                          swiftSettings: harness),
        .executableTarget(name: "FuzzApprovals", dependencies: ["FuzzSupport", .product(name: "TriageEngine", package: "Triage")],
                          swiftSettings: harness),
    ]
)
