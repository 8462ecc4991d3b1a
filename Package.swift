// swift-tools-version:6.0
import PackageDescription

// Layers, dependencies pointing one way:
//   CBLAS (system OpenBLAS) ← TriageCore (numeric core + learners, no I/O)
//   TriageCore ← TriageData (CSV, model files, atomic writes)
//   TriageCore ← TriageSim (incident simulator and its true remediation model)
//   TriageCore, TriageData ← TriageEngine (approval queue in SQLite via GRDB, outbox, approvers)
//   TriageEngine ← TriageStorePostgres (the same store protocols on PostgreSQL through postgres-nio;
//     nothing below it depends on it, so the numeric and SQLite layers build without PostgreSQL)
//   TriageCore, TriageData, TriageEngine, TriageStorePostgres ← TriageRuntime (which opens a `--db`
//     value as either store) (what the front doors share: bundle
//     training, engine set-up, the model registry, the CSV writer, the events reader; no argument
//     parsing, no terminal, and its errors name settings, not flags)
//   TriageRuntime ← TriageServer (`triage serve`: Hummingbird routes, token auth, the approval page,
//     Prometheus metrics; a thin layer over the runtime, nothing computed twice)
//   TriageCore, TriageData, TriageEngine, TriageStorePostgres, TriageRuntime, TriageServer ← TriageCLI (commands) ← triage (executable)
// Release builds use SwiftPM's defaults, `-O` with whole-module optimisation: every
// `precondition` and bounds check stays in (issue 14: with unchecked optimisation an input bug became
// memory corruption instead of an error). Hot loops that measured faster without checks use
// unsafe buffer pointers locally, with the figure in a comment (BENCHMARKS.md, "Checked release
// builds").

let package = Package(
    name: "Triage",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
        .executable(name: "triage-bench", targets: ["TriageBench"]),
        .library(name: "TriageCore", targets: ["TriageCore"]),
        .library(name: "TriageData", targets: ["TriageData"]),
        .library(name: "TriageEngine", targets: ["TriageEngine"]),
        .library(name: "TriageRuntime", targets: ["TriageRuntime"]),
        .library(name: "TriageStorePostgres", targets: ["TriageStorePostgres"]),
        .library(name: "TriageServer", targets: ["TriageServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // glibc's allocator settings for the long-running server (no library to link).
        .systemLibrary(name: "CMalloc"),
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
            name: "TriageStorePostgres",
            dependencies: [
                "TriageCore", "TriageData", "TriageEngine",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TriageRuntime",
            dependencies: [
                "TriageCore", "TriageData", "TriageEngine", "TriageStorePostgres",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TriageServer",
            dependencies: [
                "TriageCore", "TriageData", "TriageEngine", "TriageRuntime", "TriageStorePostgres", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Templates")]
        ),
        .target(
            name: "TriageCLI",
            dependencies: [
                "TriageCore", "TriageData", "TriageSim", "TriageEngine", "TriageRuntime", "TriageServer", "TriageStorePostgres",
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
        // The store conformance suite: one set of tests over SQLite and PostgreSQL.
        .testTarget(
            name: "TriageStorePostgresTests",
            dependencies: [
                "TriageStorePostgres", "TriageEngine", "TriageCore", "TriageData",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TriageServerTests",
            dependencies: [
                "TriageServer", "TriageRuntime", "TriageEngine", "TriageData", "TriageCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ]
)
