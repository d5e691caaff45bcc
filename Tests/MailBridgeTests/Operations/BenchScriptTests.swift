import Foundation
import Testing

/// The benchmark scripts are not run by the suite (they take minutes and want a release build), so this checks
/// what can be checked cheaply: every script parses, and the one with logic of its own that decides a reported
/// figure, the duplicate classification of `scripts/bench-redelivery`, puts hand-made cases where they belong.
@Suite struct BenchScriptTests {
    static let scripts = packageRoot.appendingPathComponent("scripts")

    @Test func everyBenchScriptParses() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.scripts.path)
        let shell = names.filter { $0.hasPrefix("bench") && !$0.hasSuffix(".py") }.map { "scripts/\($0)" }
            + ["scripts/lib/bench-common.sh"]
        #expect(shell.count >= 10, "\(shell)")
        for script in shell {
            let (status, output) = try runProcess("/bin/bash", ["-n", packageRoot.appendingPathComponent(script).path])
            #expect(status == 0, "\(script): \(output)")
        }
        let python = try FileManager.default.contentsOfDirectory(atPath: Self.scripts.path + "/lib")
            .filter { $0.hasSuffix(".py") }
        #expect(python.contains("redelivery_analysis.py") && python.contains("benchrounds.py"))
        for script in python {
            let path = Self.scripts.path + "/lib/" + script
            let (status, output) = try runProcess(
                "/usr/bin/python3", ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())", path])
            #expect(status == 0, "\(script): \(output)")
        }
    }

    /// One duplicate of each kind, at times chosen so that only the intended rule fits: the gateway dead before
    /// the 250 left (smarthost's part), the kill after it (gateway's part, 490 µs), the 250 leaving during the
    /// kill (ambiguous), and a connection that went on with QUIT after the 250 (the journal failed).
    @Test func redeliveryAnalysisPutsEachDuplicateInItsPart() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let rows = [
            // mid, recipient, taken, 250 sent, connection ended, how
            ("<a@x>", "s0@example.net", "100.000000", "100.000100", "100.002000", "lost"),
            ("<a@x>", "s0@example.net", "101.500000", "101.500100", "101.600000", "quit"),
            ("<b@x>", "s1@example.net", "200.000000", "200.000010", "200.010000", "lost"),
            ("<b@x>", "s1@example.net", "201.500000", "201.500010", "201.600000", "quit"),
            ("<c@x>", "s2@example.net", "300.000000", "300.000050", "300.010000", "lost"),
            ("<c@x>", "s2@example.net", "301.500000", "301.500050", "301.600000", "quit"),
            ("<d@x>", "s3@example.net", "400.000000", "400.000010", "400.001000", "quit"),
            ("<d@x>", "s3@example.net", "400.500000", "400.500010", "400.600000", "quit"),
            ("<e@x>", "s4@example.net", "500.000000", "500.000010", "500.001000", "quit"),
        ]
        let timing = try folder.write("timing", rows.map {
            [$0.0, $0.1, $0.2, $0.3, $0.4, $0.5].joined(separator: "\t") + "\n"
        }.joined())
        // Kills: before and after kill(2). The one at 99.9995 ended a's sender before its 250 (100.0001) left.
        let kills = try folder.write("kills", """
            99.999500 99.999800
            200.000500 200.000600
            300.000010 300.000100
            450.000000 450.000100

            """)
        let analysis = Self.scripts.path + "/lib/redelivery_analysis.py"
        let (status, output) = try runProcess("/usr/bin/python3", [analysis, timing, kills, "10", "1", "1"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("1 duplicates: smarthost's part"), "\(output)")
        #expect(output.contains("1 duplicates: gateway's part"), "\(output)")
        #expect(output.contains("kill after the 250 by: 490 µs"), "\(output)")
        #expect(output.contains("1 duplicates: ambiguous"), "\(output)")
        #expect(output.contains("1 duplicates: gateway alive after the 250 (it went on with QUIT)"), "\(output)")
        // Nine deliveries, four duplicates, three of them not the smarthost's.
        #expect(output.contains("COUNT|duplicate deliveries (kill -9 every 1 s) vs goal|per 10,000|0|4|9|1"),
                "\(output)")
        #expect(output.contains("COUNT|duplicates not in the smarthost's part of the window (kill -9 every 1 s) vs goal"
                                + "|per 10,000|0|3|9|1"), "\(output)")
    }
}
