/// Counts open connections in total and per client IP, and hands out connection IDs.
actor ConnectionLimiter {
    private let maximumPerIP: Int
    private let maximumTotal: Int
    private var perIP: [String: Int] = [:]
    private var total = 0
    private var lastID = 0

    init(maximumPerIP: Int, maximumTotal: Int) {
        self.maximumPerIP = maximumPerIP
        self.maximumTotal = maximumTotal
    }

    /// A connection ID, or nil when a limit is reached (the caller answers 421 4.7.0).
    func acquire(ip: String) -> Int? {
        guard total < maximumTotal, perIP[ip, default: 0] < maximumPerIP else { return nil }
        total += 1
        perIP[ip, default: 0] += 1
        lastID += 1
        return lastID
    }

    func release(ip: String) {
        total -= 1
        let remaining = perIP[ip, default: 1] - 1
        perIP[ip] = remaining > 0 ? remaining : nil
    }

}
