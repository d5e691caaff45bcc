import Foundation

/// What the measuring modes of this helper share: reading their own `/proc/self/status`, and ending with one
/// report line on standard output (exit 0) or the error on standard error (exit 1).
enum HelperReport {
    /// A `/proc/self/status` figure in KiB (`VmRSS`, `VmHWM`), 0 if absent.
    static func statusKiB(_ key: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// Runs `body`, prints the line it returns and exits 0; on an error prints `<what> failed: <error>` to standard
    /// error and exits 1.
    static func run(_ what: String, _ body: () async throws -> String) async -> Never {
        do {
            print(try await body())
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(what) failed: \(error)\n".utf8))
            exit(1)
        }
    }
}
