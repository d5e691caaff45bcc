// Security: turns any error a command meets into the sentence the administrator reads. It keeps what the error
// says about paths, options and counts, and drops what a library adds (type names, source locations, SQLite and
// errno numbers, Foundation's NSError dumps). Nothing here reads message content: the errors never carry any.

import Foundation
import NIOCore
import PGPShim
import StorePostgres
import ThreadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a failed command tells the administrator (issue 22: "no internal error text reaches the user; every
/// command's failure names what to do"): what went wrong, in words, and the next step.
///
/// MailBridge's own errors that are written for the administrator (``ConfigurationError``, ``MasterKeyError``,
/// ``RecoveryError``, ``BindFailure``, …) keep their text; store, OpenPGP, NIO and Foundation errors are mapped by
/// their code. An error of no known kind gets a generic sentence with what to do, not its dump.
///
/// ```swift
/// catch { StandardError.write("mailbridge backup: \(FailureExplanation.message(for: error))\n") }
/// ```
public enum FailureExplanation {
    /// The sentence for `error`, ending in what to do next.
    public static func message(for error: any Error) -> String {
        switch error {
        case let error as ConfigurationError:
            let file = error.file.map { " --config \($0)" } ?? ""
            return error.fullDescription + "\nfix the configuration and check it with `mailbridge check-config\(file)`"
        case let error as MasterKeyError: return error.description
        case let error as DataFolderInitializer.Failure: return error.description
        case let error as BindFailure: return error.description + "; stop the other program or change the port"
        case let error as AdminFailure: return error.description
        case let error as AdminUsageError: return error.description
        case let error as GatewayError: return error.description
        case let error as RecoveryError: return recovery(error)
        case let error as ThreadStoreError: return store(error)
        case let error as PostgresProblem:
            return "the PostgreSQL store: \(error); check [store] and run `mailbridge check-config`"
        case let error as NodeNameInUse: return error.description
        case let error as NodeNameLost: return error.description + "; it waits for or refuses the other on restart"
        case let error as PGPError: return openPGP(error)
        case let error as ReplyError: return reply(error)
        case let error as SpoolError: return spool(error)
        case let error as IOError: return system(error.errnoCode, doing: "a network or file operation failed")
        case let error as POSIXError: return system(error.code.rawValue, doing: "a file operation failed")
        case let error as CocoaError: return foundation(error)
        case is CancellationError: return "the command was interrupted before it finished; run it again"
        case is DecodingError: return "a stored record could not be read back; " + reportIt
        default:
            let error = error as NSError
            if error.domain == NSPOSIXErrorDomain {
                return system(Int32(error.code), doing: "a file operation failed")
            }
            if error.domain == NSCocoaErrorDomain { return foundation(CocoaError(CocoaError.Code(rawValue: error.code),
                                                                                 userInfo: error.userInfo)) }
            return "an unexpected internal failure stopped the command; " + reportIt
        }
    }

    static let reportIt = "run it again; if it fails again, report it with the command you ran and the time"

    static func recovery(_ error: RecoveryError) -> String {
        switch error.code {
        case .gatewayRunning: error.description + " (stop it first: systemctl stop mailbridge)"
        case .outputExists, .targetNotEmpty, .keyMismatch: error.description
        case .archive: error.description + " (check that this is a MailBridge backup and --master-key its key)"
        case .verificationFailed: error.description + "; the target was left empty: check the archive and the key"
        case .io: error.description + "; check the path, the free space and the permissions, then run it again"
        }
    }

    static func store(_ error: ThreadStoreError) -> String {
        switch error.code {
        case .wrongMasterKey:
            "the master key does not open the store: use the key the store was sealed with (the [keys] "
                + "master-key-file, or the systemd credential), or restore it from your key backup"
        case .notAThreadStore:
            "the data folder's threads.sqlite is not a MailBridge store: check [data] folder in the configuration"
        case .databaseUnavailable:
            "the store cannot be opened for writing: run the command as the service user (or root) and check that "
                + "the data folder and threads.sqlite belong to that user"
        case .databaseCorrupt:
            "the store is damaged: stop the gateway and restore the last backup (`mailbridge restore`, see "
                + "docs/operations.md)"
        case .masterKeyUnreadable, .credentialsDirectoryMissing:
            "the master key cannot be read: check [keys] master-key-file (create it with `mailbridge init` for a "
                + "new installation)"
        case .masterKeyInsecurePermissions: "the master key file is open to group or others: chmod 600 it"
        case .masterKeyInvalidLength:
            "the master key file is not \(DataFolderInitializer.masterKeyLength) octets: put back the right key"
        case .threadNotFound: "there is no thread with this ID: list them with `mailbridge threads list`"
        case .outboxItemNotFound: "there is no queue item with this ID: list them with `mailbridge queue list`"
        case .accountNotFound: "there is no such account: list them with `mailbridge users list`"
        case .accountExists: "an account with this name exists already: choose another name"
        case .apiTokenNotFound: "there is no such API token: list them with `mailbridge tokens list`"
        case .limitExceeded: "the request is over a limit of the store: ask for fewer items"
        case .invalidValue, .invalidIdentifier: "a value was refused by the store: check the arguments"
        case .storageFailure, .backupFailed, .checkpointIncomplete, .migrationFailed:
            "the store could not complete the operation (disk full, or busy with another process?): check the free "
                + "space and run it again"
        default: "the store failed; " + reportIt
        }
    }

    static func openPGP(_ error: PGPError) -> String {
        switch error.code {
        case .engineUnavailable: "GnuPG cannot be run: install gnupg and gpg-agent (scripts/install-deps)"
        case .homeDirectory:
            "the GnuPG home cannot be used: check [keys] gnupg-home exists and belongs to the service user (mode 0700)"
        case .badPassphrase: "the gateway keys' passphrase is wrong: check [keys] passphrase-file"
        case .keyNotFound: "a gateway key is missing from the GnuPG home: see `mailbridge keys status`"
        case .keyUnusable: "a key is expired, revoked or unusable: see `mailbridge keys status`"
        case .transient: "GnuPG was busy or was interrupted: run the command again"
        default: "GnuPG could not carry out the operation; " + reportIt
        }
    }

    static func reply(_ error: ReplyError) -> String {
        switch error.code {
        case .invalidText: "the reply text is empty or too large: check the file given with --text-file"
        case .noMailbox:
            "the thread's counselling field has no mailbox in the configuration: add its [[mailbox]] and reload"
        case .invalidClientAddress: "the thread's client address is not usable; the reply cannot be sent by mail"
        }
    }

    static func spool(_ error: SpoolError) -> String {
        system(error.errno, doing: "the spool (the data folder's spool/) could not be used")
    }

    /// A system error: what failed, the system's words for `code`, and what to check.
    static func system(_ code: Int32, doing action: String) -> String {
        SystemErrorText.sentence(code, doing: action)
    }

    /// Foundation's file errors, with the path they name and the system's reason.
    static func foundation(_ error: CocoaError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? error.filePath
        let subject = path.map { "\($0): " } ?? ""
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return system(Int32(underlying.code), doing: "\(subject)a file operation failed")
        }
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile:
            return system(ENOENT, doing: "\(subject)no such file")
        case .fileReadNoPermission, .fileWriteNoPermission:
            return system(EACCES, doing: "\(subject)permission denied")
        case .fileWriteFileExists: return system(EEXIST, doing: "\(subject)the file exists")
        case .fileWriteOutOfSpace: return system(ENOSPC, doing: "\(subject)the disk is full")
        case .fileWriteVolumeReadOnly: return system(EROFS, doing: "\(subject)the file system is read-only")
        case .fileReadInapplicableStringEncoding, .fileReadCorruptFile:
            return "\(subject)the file is not UTF-8 text: save it as UTF-8"
        default: return "\(subject)a file operation failed; " + reportIt
        }
    }
}
