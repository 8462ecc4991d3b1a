// swift-tools-version:6.0
import PackageDescription

// Layers, dependencies pointing one way:
//   CBLAS (system OpenBLAS) ← TriageCore (numeric core + learners, no I/O)
//   TriageCore ← TriageData (CSV, model files, atomic writes)
//   TriageCore ← TriageSim (incident simulator and its true remediation model)
//   TriageCore, TriageData ← TriageEngine (approval queue in SQLite via GRDB, outbox, approvers)
//   TriageCore, TriageData, TriageEngine ← TriageRuntime (what the front doors share: bundle
//     training, engine set-up, the model registry, the CSV writer, the events reader; no argument
//     parsing, no terminal, and its errors name settings, not flags)
//   TriageCore, TriageData, TriageEngine, TriageRuntime ← TriageCLI (commands) ← triage (executable)
// Release builds use SwiftPM's defaults, `-O` with whole-module optimisation: every
// `precondition` and bounds check stays in (issue 14: with unchecked optimisation an input bug became
// memory corruption instead of an error). Hot loops that measured faster without checks use
// unsafe buffer pointers locally, with the figure in a comment (BENCHMARKS.md, "Checked release
// builds").

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
        .executable(name: "triage-bench", targets: ["TriageBench"]),
        .library(name: "TriageCore", targets: ["TriageCore"]),
        .library(name: "TriageData", targets: ["TriageData"]),
        .library(name: "TriageEngine", targets: ["TriageEngine"]),
        .library(name: "TriageRuntime", targets: ["TriageRuntime"]),
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
            dependencies: ["CBLAS"]
        ),
        .target(
            name: "TriageData",
            dependencies: [
                "TriageCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TriageSim",
            dependencies: ["TriageCore"]
        ),
        .target(
            name: "TriageEngine",
            dependencies: [
                "TriageCore", "TriageData",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "TriageRuntime",
            dependencies: ["TriageCore", "TriageData", "TriageEngine"]
        ),
        .target(
            name: "TriageCLI",
            dependencies: [
                "TriageCore", "TriageData", "TriageSim", "TriageEngine", "TriageRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "triage", dependencies: ["TriageCLI"]),
        .executableTarget(
            name: "TriageBench",
            dependencies: [
                "TriageCore", "TriageData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TriageCoreTests", dependencies: ["TriageCore"]),
        .testTarget(name: "TriageDataTests", dependencies: ["TriageData"]),
        .testTarget(name: "TriageEngineTests", dependencies: ["TriageEngine"]),
        .testTarget(name: "TriageRuntimeTests", dependencies: ["TriageRuntime", "TriageCore", "TriageData", "TriageEngine"]),
        .testTarget(name: "TriageCLITests", dependencies: ["TriageCLI", "TriageEngine", "TriageRuntime"]),
        .testTarget(name: "TriageSimTests", dependencies: ["TriageSim"]),
    ]
)
