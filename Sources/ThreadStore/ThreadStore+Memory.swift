import GRDB

extension ThreadStore {
    /// Gives back the memory SQLite keeps for speed: the writer's page cache (up to
    /// ``Configuration/writerCacheKiB``) and every reader connection with its own cache (up to
    /// ``Configuration/maximumReaders`` × ``Configuration/readerCacheKiB``); readers are opened again on demand.
    /// After a burst of large messages these caches are full of pages of sealed attachments and keep the daemon's
    /// resident size far above idle (issue 18 §5).
    ///
    /// Blocks until every database access in progress has finished (GRDB `DatabasePool.releaseMemory()`, which
    /// calls `sqlite3_db_release_memory` on the writer and closes the readers): call it from a thread of its own,
    /// never from an event loop or a task on the cooperative pool.
    public func releaseMemory() {
        pool.releaseMemory()
    }
}
