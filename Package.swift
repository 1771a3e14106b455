// swift-tools-version: 6.1
import PackageDescription

// `.ci/run` sets SPOOLRUNNER_WARNINGS_AS_ERRORS=1: the project's own targets must build without a
// single warning. Only these targets get the flag; dependencies build as they are.
let ownTargetSettings: [SwiftSetting] =
    Context.environment["SPOOLRUNNER_WARNINGS_AS_ERRORS"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : []

// Linux only: inotify, /proc, flock, renameat2 and the other calls come from Glibc, so the code
// builds nowhere else. SwiftPM's `platforms:` can only name minimum versions of Apple platforms
// (there is no Linux entry, and no way to say "Linux only"); the `.macOS(.v15)` that was here
// claimed a platform the package cannot build on, so there is none. README: "Linux".
let package = Package(
    name: "spoolrunner",
    products: [
        .executable(name: "spoolrunner", targets: ["SpoolRunnerCLI"]),
        .executable(name: "spoolrunner-http", targets: ["SpoolRunnerHTTP"]),
        .library(name: "ProcessDefinitions", targets: ["ProcessDefinitions"]),
        .library(name: "SpoolRunner", targets: ["SpoolRunner"]),
        .library(name: "SpoolStore", targets: ["SpoolStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // Issue 11: the textfile metrics (it brings swift-atomics and swift-metrics only).
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // Pure model: definitions, YAML loading, validation, templates. No spool, no database.
        .target(
            name: "ProcessDefinitions",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: ownTargetSettings,
            // Input patterns are matched with ICU's own API (PatternCache), for its step limit.
            linkerSettings: [.linkedLibrary("_FoundationICU", .when(platforms: [.linux]))]
        ),
        // The client side of the spool: layout, ids, safe reads, atomic drops, and the domain's
        // vocabulary (statuses, failure info). What `submit` and the HTTP gateway share; no engine.
        .target(
            name: "SpoolClient",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: ownTargetSettings
        ),
        // The history store: the `Store` protocol and `SQLiteStore`, which owns every SQL
        // statement of the program. Its own module, in the engine's folder, so that the HTTP
        // gateway reads history through the same protocol without linking the engine.
        .target(
            name: "SpoolStore",
            dependencies: [
                "ProcessDefinitions",
                "SpoolClient",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Sources/SpoolRunner/Store",
            swiftSettings: ownTargetSettings
        ),
        // <sys/epoll.h>, which Swift's Glibc module leaves out (for DescriptorPoller).
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // Intake, engine, executors, status writer, history store, daemon.
        .target(
            name: "SpoolRunner",
            dependencies: [
                "CEpoll",
                "ProcessDefinitions",
                "SpoolClient",
                "SpoolStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["Store"],
            swiftSettings: ownTargetSettings
        ),
        // The thin `spoolrunner` executable.
        .executableTarget(
            name: "SpoolRunnerCLI",
            dependencies: [
                "SpoolRunner",
                "SpoolStore",
                "SpoolStorePostgres",
                "ProcessDefinitions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                // `serve --metrics-file` injects its own registry into the runner's metrics.
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: ownTargetSettings
        ),
        // The HTTP gateway: the seed's API and the dashboard over a spool. Never the engine.
        .target(
            name: "SpoolGateway",
            dependencies: [
                "ProcessDefinitions",
                "SpoolClient",
                "SpoolStore",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: ownTargetSettings
        ),
        // The thin `spoolrunner-http` executable.
        .executableTarget(
            name: "SpoolRunnerHTTP",
            dependencies: [
                "SpoolGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ownTargetSettings
        ),
        // The PostgreSQL store (issue 13): URL parsing, migrations, leases, claims, fenced commits.
        // Only this target and its tests link postgres-nio; ProcessDefinitions and the SQLite path
        // (SpoolStore, SpoolRunner) never compile against it. It uses their records and recovery rule.
        .target(
            name: "SpoolStorePostgres",
            dependencies: [
                "SpoolRunner",
                "SpoolStore",
                "ProcessDefinitions",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: ownTargetSettings
        ),
        .testTarget(
            name: "SpoolStorePostgresTests",
            dependencies: [
                "SpoolStorePostgres",
                "SpoolRunner",
                "ProcessDefinitions",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: ownTargetSettings
        ),
        .testTarget(
            name: "ProcessDefinitionsTests",
            dependencies: ["ProcessDefinitions"],
            resources: [.copy("Fixtures")],
            swiftSettings: ownTargetSettings
        ),
        .testTarget(
            name: "SpoolRunnerTests",
            dependencies: [
                "SpoolRunner",
                "SpoolStore",
                "SpoolGateway",
                "ProcessDefinitions",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: ownTargetSettings
        ),
    ]
)
