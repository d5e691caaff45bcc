// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "MailBridge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mailbridge", targets: ["mailbridge"]),
        .library(name: "MailBridge", targets: ["MailBridge"]),
        .library(name: "PGPShim", targets: ["PGPShim"]),
        .library(name: "ThreadStore", targets: ["ThreadStore"]),
        .library(name: "MailValues", targets: ["MailValues"]),
        .library(name: "StorePostgres", targets: ["StorePostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", exact: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CGPGME",
            providers: [.apt(["libgpgme-dev"])]
        ),
        .systemLibrary(
            name: "CEtPan",
            providers: [.apt(["libetpan-dev"])]
        ),
        // libxml2's HTML parser, to show HTML-only mail as text (MIME/HTML/HTMLText.swift).
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CCompression",
            providers: [.apt(["zlib1g-dev", "libbz2-dev"])]
        ),
        // libqrencode: the TOTP enrolment page's QR code, drawn on the server as SVG (Web/Auth/QRCodeSVG.swift).
        .systemLibrary(
            name: "CQREncode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        // Values every room shares (addresses, fingerprints), so they cross module borders as types, not strings.
        .target(
            name: "MailValues",
            swiftSettings: strictSettings
        ),
        .target(
            name: "PGPShim",
            dependencies: [
                "MailValues",
                "CGPGME",
                "CCompression",
                .product(name: "Crypto", package: "swift-crypto"),
                // AES._CFB for the in-process SEIPD v1 unwrap (InProcessUnwrap.swift); already built for postgres-nio.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ThreadStore",
            dependencies: [
                "MailValues",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's incremental blob I/O for large sealed values (WriteTransaction+LargeValues.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The PostgreSQL engine (issue 21): connection, diagnosis, schema, migrations, leases, the web inbox's shared
        // state. Its own target so that only the code that talks to PostgreSQL links postgres-nio; it is
        // ThreadStore's PostgreSQL half and seals through ThreadStore's code (docs/architecture.md).
        .target(
            name: "StorePostgres",
            dependencies: [
                "ThreadStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Only for its error type: a pool that cannot connect (PostgresDatabase.isUnavailable).
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "MailBridge",
            dependencies: [
                "PGPShim",
                "ThreadStore",
                "StorePostgres",
                "CEtPan",
                "CLibXML2",
                "CQREncode",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                // The webhook sender's HTTPS client (Webhooks/WebhookSender.swift, issue 29).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "mailbridge",
            dependencies: [
                "MailBridge",
                "PGPShim",
                "ThreadStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Rounds for the in-process benchmarks (issue 24); the statistics are in scripts/lib/benchrounds.py.
        .target(
            name: "BenchmarkRounds",
            path: "Benchmarks/BenchmarkRounds",
            swiftSettings: strictSettings
        ),
        // Not a test: instructions per message under callgrind (issue 24), run by scripts/bench-callgrind.
        .executableTarget(
            name: "CallgrindBenchmark",
            dependencies: [
                "MailBridge", "PGPShim", "ThreadStore", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/CallgrindBenchmark",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "PGPBenchmark",
            dependencies: ["BenchmarkRounds", "PGPShim", "TestSupport"],
            path: "Benchmarks/PGPBenchmark",
            swiftSettings: strictSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["PGPShim", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "IngestBenchmark",
            dependencies: [
                "BenchmarkRounds", "MailBridge", "PGPShim", "ThreadStore", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/IngestBenchmark",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "EngineBenchmark",
            dependencies: [
                "BenchmarkRounds", "MailBridge", "PGPShim", "StorePostgres", "ThreadStore", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/EngineBenchmark",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PGPShimTests",
            dependencies: ["PGPShim", "TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ThreadStoreTests",
            dependencies: [
                "ThreadStore",
                "ThreadStoreCrashHelper",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // Child process for ThreadStoreTests' crash-safety test (killed with SIGKILL mid-write).
        .executableTarget(
            name: "ThreadStoreCrashHelper",
            dependencies: ["ThreadStore", .product(name: "GRDBSQLite", package: "GRDB.swift")],
            path: "Tests/ThreadStoreCrashHelper",
            swiftSettings: strictSettings
        ),
        // Not a test: insert and list/open timings, run by scripts/bench-store.
        .executableTarget(
            name: "ThreadStoreBenchmark",
            dependencies: ["BenchmarkRounds", "ThreadStore"],
            path: "Benchmarks/ThreadStoreBenchmark",
            swiftSettings: strictSettings
        ),
        // Not a test: the inbox's thread list/open on PostgreSQL at 10 k vs 1 M messages (issue 21), run by
        // scripts/bench-store-postgres.
        .executableTarget(
            name: "PostgresStoreBenchmark",
            dependencies: [
                "BenchmarkRounds", "StorePostgres", "ThreadStore", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PostgresStoreBenchmark",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StorePostgresTests",
            dependencies: [
                // For `SeamCoverageTests` only: the seams of `GatewayStores` (MailBridge depends on nothing here).
                "MailBridge",
                "StorePostgres",
                "ThreadStore",
                "MailValues",
                "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MailBridgeTests",
            dependencies: [
                "MailBridge",
                "MailValues",
                "StorePostgres",
                "TestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // HMAC-SHA256 for signing webhook requests in the tests themselves (WebhookReceiverTests).
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
