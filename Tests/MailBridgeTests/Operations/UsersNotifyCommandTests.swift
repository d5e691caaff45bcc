import Foundation
import TestSupport
import Testing

/// `mailbridge users notify` through the built executable: sets and clears an account's notification address and
/// mode; never prints the address; refuses bad input with exit status 2.
@Suite struct UsersNotifyCommandTests {
    func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runProcess(binary, arguments, input: nil) })
            }
        }
    }

    @Test func notifySetsAndClearsWithoutEchoingTheAddress() async throws {
        let (folder, config) = try await UsersCommandTests().initialised()
        defer { UsersCommandTests.remove(folder) }
        let c = ["--config", config]
        #expect(try await run(["users", "add", "anna", "--display-name", "Anna", "--role", "counsellor",
                               "--field", "allgemein"] + c).status == 0)
        let address = "anna.privat@staff.example"
        let set = try await run(["users", "notify", "anna", "--address", address, "--mode", "hourly"] + c)
        #expect(set.status == 0 && set.output.contains("(hourly)") && !set.output.contains(address), "\(set.output)")
        let badMode = try await run(["users", "notify", "anna", "--address", address, "--mode", "weekly"] + c)
        #expect(badMode.status == 2 && !badMode.output.contains(address))
        let badAddress = try await run(["users", "notify", "anna", "--address", "no-at-sign"] + c)
        #expect(badAddress.status == 2 && !badAddress.output.contains("no-at-sign"))
        #expect(try await run(["users", "notify", "anna", "--address", address, "--clear"] + c).status == 2)
        #expect(try await run(["users", "notify", "nobody", "--clear"] + c).status == 1)
        let cleared = try await run(["users", "notify", "anna", "--clear"] + c)
        #expect(cleared.status == 0 && cleared.output.contains("team address"))
    }
}
