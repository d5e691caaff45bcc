/// One permit, handed to waiters in arrival order: `acquire()` returns when the caller holds it, `release()` passes
/// it on. The pipeline runner uses it so that at most one large message is in the pipeline at a time.
actor ExclusiveGate {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Waits for the permit. Every `acquire()` must be followed by exactly one `release()`.
    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }  // the releasing task hands the permit over
    }

    func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
