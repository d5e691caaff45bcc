public import NIOConcurrencyHelpers

extension NIOLockedValueBox {
    /// Puts `value` in and returns what was there, in one locked step: a flag's first setting (`told.exchange(true)`
    /// is false once), a state's end (`failing.exchange(false)`), an optional taken (`client.exchange(nil)`).
    public func exchange(_ value: Value) -> Value {
        withLockedValue { current in
            defer { current = value }
            return current
        }
    }
}
