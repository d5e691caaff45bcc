import Foundation
import Testing

/// The second half of the guard (issue 21): every requirement of every seam's protocol is called by at least one
/// registered conformance suite (``SeamConformanceRegistry``), read from the sources: a method added to a seam
/// without a scenario on both engines fails here, unless ``SeamConformanceRegistry/uncalled`` names it with a
/// reason. "Called" means `.name(` appears in a suite's file; that a scenario checks its result is the suite's
/// review, not this test's.
@Suite struct SeamMethodCoverageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The names of the `func` requirements in the body of `protocol` (extensions with defaults are not read).
    static func requirements(of protocolName: String) throws -> [String] {
        let source = try String(contentsOf: root.appending(path: "Sources/ThreadStore/Engine/\(protocolName).swift"),
                                encoding: .utf8)
        guard let start = source.range(of: "public protocol \(protocolName)"),
              let open = source[start.upperBound...].firstIndex(of: "{") else { return [] }
        var depth = 0
        var end = open
        for index in source[open...].indices {
            if source[index] == "{" { depth += 1 }
            if source[index] == "}" { depth -= 1 }
            if depth == 0 { end = index; break }
        }
        let body = String(source[open...end])
        let pattern = try NSRegularExpression(pattern: #"\bfunc\s+([A-Za-z_][A-Za-z0-9_]*)"#)
        return pattern.matches(in: body, range: NSRange(body.startIndex..., in: body)).compactMap {
            Range($0.range(at: 1), in: body).map { String(body[$0]) }
        }
    }

    /// The text of every file of every registered suite (`Tests/StorePostgresTests/<Suite>*.swift`).
    static func suiteSources() throws -> String {
        let folder = root.appending(path: "Tests/StorePostgresTests")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let suites = Set(SeamConformanceRegistry.suites.values.flatMap { $0 }.map { String(describing: $0) })
        var text = ""
        for suite in suites {
            let files = names.filter { $0.hasPrefix(suite) && $0.hasSuffix(".swift") }
            #expect(!files.isEmpty, "no file for the suite \(suite)")
            for file in files { text += try String(contentsOf: folder.appending(path: file), encoding: .utf8) }
        }
        return text
    }

    @Test func everyRequirementOfEverySeamIsCalledByAConformanceSuite() throws {
        let sources = try Self.suiteSources()
        #expect(Set(SeamConformanceRegistry.protocols.keys) == Set(SeamConformanceRegistry.suites.keys))
        var all: Set<String> = []
        var uncovered: [String] = []
        for (seam, protocolName) in SeamConformanceRegistry.protocols.sorted(by: { $0.key < $1.key }) {
            let names = try Self.requirements(of: protocolName)
            #expect(!names.isEmpty, "\(seam): no requirement read from \(protocolName).swift")
            all.formUnion(names)
            for name in names where !sources.contains(".\(name)(")
                && SeamConformanceRegistry.uncalled[name] == nil {
                uncovered.append("\(protocolName).\(name)")
            }
        }
        #expect(uncovered.isEmpty, "seam requirements no conformance suite calls: \(uncovered)")
        for name in SeamConformanceRegistry.uncalled.keys {
            #expect(all.contains(name), "SeamConformanceRegistry.uncalled names \(name), which no seam requires")
            #expect(!sources.contains(".\(name)("), "\(name) is called by a suite now: remove it from uncalled")
        }
        #expect(all.count >= 70, "only \(all.count) requirements read")
    }
}
