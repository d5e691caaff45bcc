/// A one-slot wake-up: `signal()` wakes the waiter or, if nobody waits, makes the next `wait` return at once.
/// Extra wake-ups are harmless (the loop just looks again), lost ones are impossible.
actor WakeSignal {
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    func signal() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            pending = true
        }
    }

    /// Returns after a signal or after `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        if pending {
            pending = false
            return
        }
        await withCheckedContinuation { continuation in
            waiter = continuation
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.signal()
            }
        }
        pending = false
    }
}
