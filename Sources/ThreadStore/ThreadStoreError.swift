// Security: the description of every ThreadStoreError is safe to log. It names the failure, the source location
// and at most an SQLite result code. It never carries SQL text, bound arguments, file contents or mail content.

internal import GRDB

/// An error thrown by ``ThreadStore``.
///
/// Errors compare and hash by ``code`` only, so tests and callers can match them:
///
/// ```swift
/// #expect(throws: ThreadStoreError.wrongMasterKey) { try await ThreadStore.open(at: url, masterKey: other) }
/// ```
public struct ThreadStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var code: Code
    /// The SQLite (extended) result code, when the failure came from SQLite.
    public var sqliteResultCode: Int32?
    /// Where the error was raised (`#fileID`), for diagnostics.
    public var file: String
    /// Where the error was raised (`#line`), for diagnostics.
    public var line: UInt

    /// Creates an error with a code and its source location.
    public init(_ code: Code, sqliteResultCode: Int32? = nil, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.sqliteResultCode = sqliteResultCode
        self.file = file
        self.line = line
    }

    public static func == (lhs: ThreadStoreError, rhs: ThreadStoreError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "ThreadStoreError.\(code) (\(file):\(line))"
        if let sqliteResultCode { text += " SQLite result code \(sqliteResultCode)" }
        return text
    }

    /// The kind of failure. A struct over a private enum so new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case masterKeyUnreadable, masterKeyInsecurePermissions, masterKeyInvalidLength, masterKeyExists
            case credentialsDirectoryMissing, wrongMasterKey, notAThreadStore
            case databaseUnavailable, databaseCorrupt, storageFailure, migrationFailed
            case threadNotFound, messageNotFound, outboxItemNotFound
            case sealingFailed, unsealingFailed, invalidIdentifier, invalidValue, limitExceeded
            case backupFailed, checkpointIncomplete
            case accountExists, accountNotFound, apiTokenNotFound
            case organisationKeyMissing
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public var description: String { value.rawValue }

        /// The master key file or credential could not be opened or read.
        public static let masterKeyUnreadable = Code(.masterKeyUnreadable)
        /// The thread belongs to an organisation whose own master key is not loaded (missing, unreadable or not
        /// the key its data was sealed with; issue 29). Transient: nothing is lost, the work waits for the key.
        public static let organisationKeyMissing = Code(.organisationKeyMissing)
        /// The master key file is readable by group or others, or is not a regular file.
        public static let masterKeyInsecurePermissions = Code(.masterKeyInsecurePermissions)
        /// The master key file does not hold exactly 32 bytes.
        public static let masterKeyInvalidLength = Code(.masterKeyInvalidLength)
        /// A new master key file was not written because the file already exists.
        public static let masterKeyExists = Code(.masterKeyExists)
        /// `$CREDENTIALS_DIRECTORY` is not set (the service was not started with systemd `LoadCredential=`).
        public static let credentialsDirectoryMissing = Code(.credentialsDirectoryMissing)
        /// The store was created with a different master key.
        public static let wrongMasterKey = Code(.wrongMasterKey)
        /// The file is an SQLite database, but not a ThreadStore (or from a newer, unknown schema).
        public static let notAThreadStore = Code(.notAThreadStore)
        /// The database file could not be opened or created.
        public static let databaseUnavailable = Code(.databaseUnavailable)
        /// SQLite reports a corrupt or non-database file, or a stored value does not parse (an ID, a code, a
        /// fingerprint).
        public static let databaseCorrupt = Code(.databaseCorrupt)
        /// Any other SQLite failure (see ``ThreadStoreError/sqliteResultCode``).
        public static let storageFailure = Code(.storageFailure)
        /// A schema migration failed.
        public static let migrationFailed = Code(.migrationFailed)
        /// No thread with this ID exists (never existed, or was deleted).
        public static let threadNotFound = Code(.threadNotFound)
        /// No message with this ID exists.
        public static let messageNotFound = Code(.messageNotFound)
        /// No outbox item with this ID exists.
        public static let outboxItemNotFound = Code(.outboxItemNotFound)
        /// Sealing (encrypting) a value failed.
        public static let sealingFailed = Code(.sealingFailed)
        /// A sealed value failed authentication: tampered, moved to another row, or sealed under another key.
        public static let unsealingFailed = Code(.unsealingFailed)
        /// A textual identifier (thread, message, outbox item, fingerprint) is malformed.
        public static let invalidIdentifier = Code(.invalidIdentifier)
        /// A value is malformed (empty field name, control characters, ...).
        public static let invalidValue = Code(.invalidValue)
        /// A value exceeds a configured limit (body size, attachment count, page size, ...).
        public static let limitExceeded = Code(.limitExceeded)
        /// The online backup failed.
        public static let backupFailed = Code(.backupFailed)
        /// A WAL checkpoint could not truncate the WAL (a reader held it); deleted content may linger in the WAL.
        public static let checkpointIncomplete = Code(.checkpointIncomplete)
        /// An account with this user name exists already (names compare without regard to ASCII case).
        public static let accountExists = Code(.accountExists)
        /// No account with this user name or ID exists.
        public static let accountNotFound = Code(.accountNotFound)
        /// No API token with this ID exists.
        public static let apiTokenNotFound = Code(.apiTokenNotFound)
    }

    // Static members so callers can write `#expect(throws: ThreadStoreError.wrongMasterKey)`.
    /// An error with code ``Code/masterKeyUnreadable``.
    public static let masterKeyUnreadable = ThreadStoreError(.masterKeyUnreadable)
    /// An error with code ``Code/masterKeyInsecurePermissions``.
    public static let masterKeyInsecurePermissions = ThreadStoreError(.masterKeyInsecurePermissions)
    /// An error with code ``Code/masterKeyInvalidLength``.
    public static let masterKeyInvalidLength = ThreadStoreError(.masterKeyInvalidLength)
    /// An error with code ``Code/masterKeyExists``.
    public static let masterKeyExists = ThreadStoreError(.masterKeyExists)
    /// An error with code ``Code/credentialsDirectoryMissing``.
    public static let credentialsDirectoryMissing = ThreadStoreError(.credentialsDirectoryMissing)
    /// An error with code ``Code/wrongMasterKey``.
    public static let wrongMasterKey = ThreadStoreError(.wrongMasterKey)
    /// An error with code ``Code/notAThreadStore``.
    public static let notAThreadStore = ThreadStoreError(.notAThreadStore)
    /// An error with code ``Code/databaseUnavailable``.
    public static let databaseUnavailable = ThreadStoreError(.databaseUnavailable)
    /// An error with code ``Code/databaseCorrupt``.
    public static let databaseCorrupt = ThreadStoreError(.databaseCorrupt)
    /// An error with code ``Code/storageFailure``.
    public static let storageFailure = ThreadStoreError(.storageFailure)
    /// An error with code ``Code/migrationFailed``.
    public static let migrationFailed = ThreadStoreError(.migrationFailed)
    /// An error with code ``Code/threadNotFound``.
    public static let threadNotFound = ThreadStoreError(.threadNotFound)
    /// An error with code ``Code/messageNotFound``.
    public static let messageNotFound = ThreadStoreError(.messageNotFound)
    /// An error with code ``Code/outboxItemNotFound``.
    public static let outboxItemNotFound = ThreadStoreError(.outboxItemNotFound)
    /// An error with code ``Code/sealingFailed``.
    public static let sealingFailed = ThreadStoreError(.sealingFailed)
    /// An error with code ``Code/unsealingFailed``.
    public static let unsealingFailed = ThreadStoreError(.unsealingFailed)
    /// An error with code ``Code/invalidIdentifier``.
    public static let invalidIdentifier = ThreadStoreError(.invalidIdentifier)
    /// An error with code ``Code/invalidValue``.
    public static let invalidValue = ThreadStoreError(.invalidValue)
    /// An error with code ``Code/limitExceeded``.
    public static let limitExceeded = ThreadStoreError(.limitExceeded)
    /// An error with code ``Code/backupFailed``.
    public static let backupFailed = ThreadStoreError(.backupFailed)
    /// An error with code ``Code/checkpointIncomplete``.
    public static let checkpointIncomplete = ThreadStoreError(.checkpointIncomplete)
    /// An error with code ``Code/accountExists``.
    public static let accountExists = ThreadStoreError(.accountExists)
    /// An error with code ``Code/accountNotFound``.
    public static let accountNotFound = ThreadStoreError(.accountNotFound)
    /// An error with code ``Code/apiTokenNotFound``.
    public static let apiTokenNotFound = ThreadStoreError(.apiTokenNotFound)
    /// An error with code ``Code/organisationKeyMissing``.
    public static let organisationKeyMissing = ThreadStoreError(.organisationKeyMissing)
}

extension ThreadStoreError {
    /// Converts a GRDB `DatabaseError` without its message, SQL or arguments (GRDB's descriptions can include
    /// the SQL, and with `publicStatementArguments` the bound values).
    static func from(_ error: DatabaseError, file: String = #fileID, line: UInt = #line) -> ThreadStoreError {
        let code: Code
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: code = .databaseCorrupt
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY: code = .databaseUnavailable
        default: code = .storageFailure
        }
        return ThreadStoreError(code, sqliteResultCode: error.extendedResultCode.rawValue, file: file, line: line)
    }
}

/// Runs `body`, converting any GRDB `DatabaseError` into a ``ThreadStoreError`` that carries no SQL.
/// Other errors (ours, the caller's, cancellation) pass through unchanged.
@inline(__always)
func mappingDatabaseErrors<T>(
    file: String = #fileID,
    line: UInt = #line,
    _ body: () throws -> T
) throws -> T {
    do {
        return try body()
    } catch let error as DatabaseError {
        throw ThreadStoreError.from(error, file: file, line: line)
    }
}

/// Async variant of ``mappingDatabaseErrors(file:line:_:)``.
func mappingDatabaseErrors<T>(
    file: String = #fileID,
    line: UInt = #line,
    _ body: () async throws -> T
) async throws -> T {
    do {
        return try await body()
    } catch let error as DatabaseError {
        throw ThreadStoreError.from(error, file: file, line: line)
    }
}
