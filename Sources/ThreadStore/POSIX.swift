#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `close(2)`, under a name that does not clash with ``ThreadStore/close()``.
@inline(__always)
func closeDescriptor(_ fd: Int32) { _ = close(fd) }
