// swift-tools-version:6.0
import PackageDescription

// Layers, dependencies pointing one way:
//   CBLAS (system OpenBLAS) ← TriageCore (numeric core + learners, no I/O)
//   TriageCore ← TriageData (CSV, model files, atomic writes)
//   TriageCore ← TriageSim (incident simulator and its true remediation model)
//   TriageCore, TriageData ← TriageEngine (approval queue in SQLite via GRDB, outbox, approvers)
//   TriageCore, TriageData, TriageEngine ← TriageCLI (commands) ← triage (executable)
let optimise: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
        .executable(name: "triage-bench", targets: ["TriageBench"]),
        .library(name: "TriageCore", targets: ["TriageCore"]),
        .library(name: "TriageData", targets: ["TriageData"]),
        .library(name: "TriageEngine", targets: ["TriageEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "TriageCore",
            dependencies: ["CBLAS"],
            swiftSettings: optimise
        ),
        .target(
            name: "TriageData",
            dependencies: [
                "TriageCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: optimise
        ),
        .target(
            name: "TriageSim",
            dependencies: ["TriageCore"],
            swiftSettings: optimise
        ),
        .target(
            name: "TriageEngine",
            dependencies: [
                "TriageCore", "TriageData",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "TriageCLI",
            dependencies: [
                "TriageCore", "TriageData", "TriageSim", "TriageEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "triage", dependencies: ["TriageCLI"]),
        .executableTarget(
            name: "TriageBench",
            dependencies: [
                "TriageCore", "TriageData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: optimise
        ),
        .testTarget(name: "TriageCoreTests", dependencies: ["TriageCore"]),
        .testTarget(name: "TriageDataTests", dependencies: ["TriageData"]),
        .testTarget(name: "TriageEngineTests", dependencies: ["TriageEngine"]),
        .testTarget(name: "TriageCLITests", dependencies: ["TriageCLI", "TriageEngine"]),
        .testTarget(name: "TriageSimTests", dependencies: ["TriageSim"]),
    ]
)
