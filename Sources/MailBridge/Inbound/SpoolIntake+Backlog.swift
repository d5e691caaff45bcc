import Foundation

extension SpoolIntake {
    /// How many messages wait in `incoming` for the pipeline (their `.eml` files; nothing is read or parsed).
    /// The IMAP fetcher stops fetching while this is high, so a large server backlog cannot fill the disk
    /// faster than the pipeline empties it. 0 if the folder cannot be listed (the runner reports that).
    public func backlogCount() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: incomingFolder.path)) ?? []
        return names.lazy.filter { $0.hasSuffix(".eml") }.count
    }
}
