import NIOCore
import ServiceLifecycle

/// Runs `pass` at once and then every `interval`, until graceful shutdown or cancellation (the periodic services:
/// maintenance, notice digests, waiting-thread counts).
func runPeriodically(every interval: Duration, _ pass: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await pass()
            try await Task.sleep(for: interval)
        }
    }
}

/// Serves a bound channel until graceful shutdown or cancellation; both close it (awaiting `closeFuture` alone
/// would ignore cancellation).
func serveUntilShutdown(_ channel: any Channel) async {
    await withTaskCancellationHandler {
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    } onCancel: {
        channel.close(promise: nil)
    }
}
