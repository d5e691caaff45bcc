// swift-tools-version:6.0
// libFuzzer targets for MailBridge's parsers of untrusted input (docs/fuzzing.md). A package of its own, so the
// sanitizer build never touches the main package's `.build` and `swift build --build-tests` there is unchanged.
//
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library   (scripts/fuzz does this)
//   scripts/fuzz FuzzSMTP 600
//
// One executable per target, holding `LLVMFuzzerTestOneInput` and the entry point that starts libFuzzer's driver.
// The targets use `@testable import` for the few internal parsers (a debug build compiles every module with
// testing enabled), so the product's public API does not grow for fuzzing.
import PackageDescription

let mailBridge: [Target.Dependency] = [
    "CFuzzDriver",
    .product(name: "MailBridge", package: "MailBridge"),
    .product(name: "PGPShim", package: "MailBridge"),
    .product(name: "ThreadStore", package: "MailBridge"),
]

let package = Package(
    name: "MailBridgeFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "MailBridge", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver, called from each target's `<Target>_main` (SwiftPM's entry point name).
        .systemLibrary(name: "CFuzzDriver"),
        // SMTP: the framer, command parser, DATA reader and server state machine, driven as SMTPSession drives them.
        .executableTarget(
            name: "FuzzSMTP",
            dependencies: mailBridge + [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // MIME: MIMEParser, MessageClassifier, DecryptedEntity and the inbox display path (charsets, HTMLText).
        .executableTarget(name: "FuzzMIME", dependencies: mailBridge),
        // PGPShim's own packet readers: armor, OuterPackets, OpenPGPSniffer, SignedMessageInspector, Decompressor.
        .executableTarget(name: "FuzzPGPPackets", dependencies: mailBridge),
        // The TOML configuration loader (BridgeConfiguration.parse) and its tomlText round trip.
        .executableTarget(name: "FuzzConfiguration", dependencies: mailBridge),
        // Web login forms, the device cookie and Hummingbird's cookie header parsing (the session cookie).
        .executableTarget(
            name: "FuzzWebForms",
            dependencies: mailBridge + [.product(name: "Hummingbird", package: "hummingbird")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
