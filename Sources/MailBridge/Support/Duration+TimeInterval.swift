public import Foundation

extension Duration {
    /// This duration in seconds, with its fraction: for `Date` arithmetic and rates.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
