// Rounds for the in-process benchmarks (issue 24). One round runs every side once, always in the same order
// (A B C …, then A B C … again: interleaved, never all A then all B), each side for about
// MAILBRIDGE_BENCH_ROUND_SECONDS; then one `ROUND|figure|unit|round|value|baseline` line per figure is printed.
// scripts/lib/benchrounds.py reads those lines and computes each figure's median ratio with its minimum and
// maximum; the statistics live only there, and the schedule's environment variables are read the same way.
//
//   let figures = [BenchmarkFigure("PGPShim vs gpg CLI", unit: "msg/s", value: "shim", baseline: "gpg")]
//   try await alternateRounds(sides: [("gpg", { ["gpg": try await rate { try gpgOnce() }] }),
//                                     ("shim", { ["shim": try await rate { try await shimOnce() }] })],
//                             figures: figures)
import Foundation

/// How many rounds, how long each side runs in a round: MAILBRIDGE_BENCH_ROUNDS (default 5, quick 3),
/// MAILBRIDGE_BENCH_ROUND_SECONDS (default 2.0, quick 0.3), MAILBRIDGE_BENCH_QUICK=1 for smoke runs.
public struct RoundSchedule: Sendable {
    public var rounds: Int
    public var seconds: Double
    public var isQuick: Bool

    public static let current: RoundSchedule = {
        let environment = ProcessInfo.processInfo.environment
        let quick = !["", "0"].contains(environment["MAILBRIDGE_BENCH_QUICK", default: ""])
        let rounds = Int(environment["MAILBRIDGE_BENCH_ROUNDS", default: ""]) ?? (quick ? 3 : 5)
        let seconds = Double(environment["MAILBRIDGE_BENCH_ROUND_SECONDS", default: ""]) ?? (quick ? 0.3 : 2.0)
        return RoundSchedule(rounds: max(1, rounds), seconds: seconds, isQuick: quick)
    }()
}

/// One figure: the measurement named `value` against the one named `baseline`, both taken in every round.
public struct BenchmarkFigure: Sendable {
    public var name: String
    public var unit: String
    public var value: String
    public var baseline: String

    public init(_ name: String, unit: String, value: String, baseline: String) {
        self.name = name
        self.unit = unit
        self.value = value
        self.baseline = baseline
    }
}

/// Runs `schedule.rounds` rounds; in each, every side in order. A side returns its named measurements.
@MainActor
public func alternateRounds(
    sides: [(name: String, measure: () async throws -> [String: Double])],
    figures: [BenchmarkFigure],
    schedule: RoundSchedule = .current
) async throws {
    for round in 1...schedule.rounds {
        var measured: [String: Double] = [:]
        for side in sides {
            measured.merge(try await side.measure()) { _, new in new }
        }
        for figure in figures {
            guard let value = measured[figure.value], let baseline = measured[figure.baseline] else {
                fatalError("figure \(figure.name): no measurement \(figure.value) or \(figure.baseline)")
            }
            // Unbuffered, so the rounds show as they finish when the output goes to a pipe.
            let line = "ROUND|\(figure.name)|\(figure.unit)|\(round)|\(value)|\(baseline)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}

/// Seconds since `start` on the continuous clock.
public func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Seconds `body` takes on the continuous clock (in the caller's isolation, so `body` need not be Sendable).
public func elapsedSeconds(
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws -> Void
) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Operations per second: repeats `operation` (given its index from 0) until `seconds` have passed, at least
/// `minimum` times.
public func rate(
    for seconds: Double = RoundSchedule.current.seconds,
    minimum: Int = 1,
    isolation: isolated (any Actor)? = #isolation,
    _ operation: (Int) async throws -> Void
) async rethrows -> Double {
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int64(seconds * 1000))
    var count = 0
    repeat {
        try await operation(count)
        count += 1
    } while count < minimum || ContinuousClock.now < end
    let elapsed = ContinuousClock.now - start
    return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
