@testable import MailBridge
import Testing

/// The runner's large-message gate: one holder at a time, waiters served in order, nothing lost.
@Suite struct ExclusiveGateTests {
    actor Trace {
        var inside = 0, most = 0, order: [Int] = []
        func enter(_ id: Int) { inside += 1; most = max(most, inside); order.append(id) }
        func leave() { inside -= 1 }
    }

    @Test func oneHolderAtATime() async {
        let gate = ExclusiveGate()
        let trace = Trace()
        await withTaskGroup(of: Void.self) { group in
            for id in 0..<20 {
                group.addTask {
                    await gate.acquire()
                    await trace.enter(id)
                    try? await Task.sleep(for: .milliseconds(2))
                    await trace.leave()
                    await gate.release()
                }
            }
        }
        #expect(await trace.most == 1)
        #expect(await trace.order.count == 20)
        // Afterwards the permit is free again.
        await gate.acquire()
        await gate.release()
    }
}
