import MailBridge
import Testing
import ThreadStore

/// The guard that cannot be forgotten (issue 21): every seam of `GatewayStores`, as its stored properties name
/// them, has a conformance suite in ``SeamConformanceRegistry`` that runs on SQLite and on PostgreSQL, and every
/// registered seam still exists. A seam added to `GatewayStores` without a suite fails here.
@Suite struct SeamCoverageTests {
    /// The seams' names, read from a `GatewayStores` value (the PostgreSQL one is the same struct).
    static func seams() throws -> [String] {
        let sqlite = try SQLiteImport(masterKey: .generate(), configuration: ImportEngines.configuration)
        return Mirror(reflecting: GatewayStores.sqlite(sqlite.threads.store)).children.compactMap(\.label)
    }

    @Test func everySeamOfTheGatewayHasAConformanceSuiteOnBothEngines() throws {
        let seams = try Self.seams()
        #expect(seams.count >= 11 && seams.contains("inbound") && seams.contains("rejected"), "\(seams)")
        let uncovered = seams.filter { SeamConformanceRegistry.suites[$0, default: []].isEmpty }
        #expect(uncovered.isEmpty, "seams without a conformance suite in SeamConformanceRegistry: \(uncovered)")
        let gone = Set(SeamConformanceRegistry.suites.keys).subtracting(seams)
        #expect(gone.isEmpty, "registered seams GatewayStores does not have: \(gone.sorted())")
        for (seam, suites) in SeamConformanceRegistry.suites {
            for suite in suites {
                #expect(suite.engines.contains("sqlite") && suite.engines.contains("postgresql"),
                        "\(seam): \(suite) runs on \(suite.engines) only")
            }
        }
    }
}
