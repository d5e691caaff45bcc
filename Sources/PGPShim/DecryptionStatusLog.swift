// Security: gpg reports what it did on its status channel, and gpgme's return code does not carry all of it
// (GnuPG 2.2.40 returned success through gpgme for a truncated AEAD message while printing an error status and
// exiting non-zero). This log counts every status line that matters and turns them into one verdict: a
// decryption is accepted only when every signal agrees. It is pure (no gpgme calls) so the rule is unit-tested.

/// What gpg's status lines said during one decryption (GnuPG doc/DETAILS, "Format of the --status-fd output").
struct DecryptionStatusLog: Sendable {
    private(set) var beginDecryption = 0
    private(set) var endDecryption = 0
    private(set) var decryptionOkay = 0
    private(set) var decryptionInfo = 0
    private(set) var decryptionKeys: [(subkey: String, primary: String)] = []
    private(set) var plaintext = 0
    private(set) var goodMDC = 0
    private(set) var badMDC = 0
    private(set) var decryptionFailed = 0
    private(set) var errors = 0
    /// `NODATA` lines: gpg found no (more) valid OpenPGP data where it expected some, e.g. a truncated chunk.
    private(set) var noData = 0
    private(set) var failures = 0
    /// Signature lines that explain a non-zero gpg exit without any doubt about the decryption itself: a
    /// signature that is bad, or whose key is unknown, expired or revoked (gpg exits 1 or 2 for these).
    private(set) var signatureProblems = 0
    /// `ENC_TO` lines seen after the first `BEGIN_DECRYPTION`: a key packet inside the encrypted data.
    private(set) var encToInsideData = 0
    /// Whether every `DECRYPTION_INFO` named an integrity mechanism (MDC or AEAD).
    private(set) var infoSaysProtected = true
    /// `PLAINTEXT <format> <timestamp> [<filename>]` of the literal data packet (first one).
    private(set) var literalHeader: String?
    /// Signing-key fingerprint (as gpgme reports the signature's `fpr`) → primary-key fingerprint, from `VALIDSIG`
    /// lines; a primary that is not a fingerprint is left out.
    private(set) var primaryBySigningKey: [String: KeyFingerprint] = [:]
    /// Key IDs of `NO_SECKEY <keyid>` lines: key packets gpg found no secret key for (upper-case hex).
    private(set) var noSecretKeyIDs: Set<String> = []
    /// `NEWSIG` lines (one before each signature gpg checks) and the verdict lines that end such a check.
    private(set) var signaturesStarted = 0
    private(set) var signaturesEnded = 0
    /// The first gpg-error value of an `ERROR` or `FAILURE` line that names an engine or file-system failure
    /// (``PGPError/isTransient(gpgErrorCode:)``): the run says nothing about the message (issue 28).
    private(set) var transientError: UInt32?
    /// `IMPORT_RES` lines: gpg prints one at the end of every import or key listing of data (`--dry-run
    /// --import`) that it finished, even for data without any key; a run without one was cut (issue 28).
    private(set) var importResults = 0
    /// A key listing's answers: `KEY_CONSIDERED` for each key it found, `ERROR keylist.getkey <code>` when it
    /// found none. A listing for a pattern that gpg finished always has one; a killed one has none (issue 28).
    private(set) var keylistAnswers = 0
    /// `END_ENCRYPTION` lines: gpg prints one when it has finished an encryption's output; a run without it was
    /// cut, and its output may be cut too.
    private(set) var endEncryption = 0
    /// `EXPORT_RES` lines: gpg prints one at the end of every export it finished (also when nothing matched).
    private(set) var exportResults = 0

    /// The status keywords in the order gpg wrote them (at most ``traceLimit``; keywords only, never arguments): a
    /// run's path through the input. Two runs that ended without a closing line at the same point with the same
    /// path are gpg giving up on the input; a killed gpg ends wherever the kill hit it (``UnfinishedRuns``).
    private(set) var trace: [String] = []
    static let traceLimit = 256

    mutating func observe(keyword: String, arguments: String) {
        // gpgme reports the end of the status channel with an empty keyword: not a line gpg wrote.
        if !keyword.isEmpty, trace.count < Self.traceLimit { trace.append(keyword) }
        switch keyword {
        case "BEGIN_DECRYPTION": beginDecryption += 1
        case "END_DECRYPTION": endDecryption += 1
        case "DECRYPTION_OKAY": decryptionOkay += 1
        case "DECRYPTION_FAILED": decryptionFailed += 1
        case "GOODMDC": goodMDC += 1
        case "BADMDC": badMDC += 1
        case "ERROR":
            errors += 1
            if arguments.hasPrefix("keylist.") { keylistAnswers += 1 }
            noteErrorCode(arguments)
        case "KEY_CONSIDERED": keylistAnswers += 1
        case "END_ENCRYPTION": endEncryption += 1
        case "EXPORT_RES": exportResults += 1
        case "NODATA": noData += 1
        case "IMPORT_RES": importResults += 1
        case "NO_SECKEY":
            if noSecretKeyIDs.count < 64, let id = arguments.split(separator: " ").first {
                noSecretKeyIDs.insert(id.uppercased())
            }
        case "FAILURE":
            failures += 1
            noteErrorCode(arguments)
        case "ENC_TO": if beginDecryption > 0 { encToInsideData += 1 }
        case "BADSIG", "ERRSIG", "NO_PUBKEY", "EXPSIG", "EXPKEYSIG", "REVKEYSIG":
            signatureProblems += 1
            if keyword != "NO_PUBKEY" { signaturesEnded += 1 }
        case "GOODSIG": signaturesEnded += 1
        case "NEWSIG": signaturesStarted += 1
        case "PLAINTEXT":
            plaintext += 1
            if literalHeader == nil { literalHeader = String(arguments.prefix(600)) }
        case "DECRYPTION_INFO":
            // DECRYPTION_INFO <mdc_method> <sym_algo> [<aead_algo>]
            decryptionInfo += 1
            let fields = arguments.split(separator: " ")
            let mdc = fields.first.flatMap { Int($0) } ?? 0
            let aead = fields.count > 2 ? Int(fields[2]) ?? 0 : 0
            if mdc == 0 && aead == 0 { infoSaysProtected = false }
        case "DECRYPTION_KEY":
            // DECRYPTION_KEY <fpr> <fpr2> <otrust>: the key that yielded the session key, and its primary key.
            let fields = arguments.split(separator: " ")
            if fields.count >= 2 { decryptionKeys.append((String(fields[0]), String(fields[1]))) }
        case "VALIDSIG":
            // VALIDSIG <fpr> <date> <timestamp> <expire> <version> <reserved> <pk-algo> <hash-algo> <class>
            // [<primary-key-fpr>]; also sent for expired or revoked keys' signatures.
            let fields = arguments.split(separator: " ")
            if fields.count >= 10, let primary = try? KeyFingerprint(String(fields[9])) {
                primaryBySigningKey[String(fields[0])] = primary
            }
        default: break
        }
    }

    /// `ERROR <location> <code> [<more>]` and `FAILURE <location> <code>`: the code is a decimal gpg-error value.
    private mutating func noteErrorCode(_ arguments: String) {
        let fields = arguments.split(separator: " ", maxSplits: 2)
        guard transientError == nil, fields.count >= 2, let value = UInt32(fields[1]),
            PGPError.isTransient(gpgErrorCode: value)
        else { return }
        transientError = value
    }

    /// Signs of gpg losing its keyring mid-run (issue 28; seen with a foreign `gpg --import` rewriting
    /// `pubring.kbx`): the session key was decrypted and the data checked (`DECRYPTION_OKAY`, `GOODMDC`) but no
    /// `DECRYPTION_KEY` line names the key, which gpg prints from the public half of our own secret key; or a
    /// signature check began (`NEWSIG`) and the run ended without its verdict line. Neither depends on the
    /// message's content, so such a run is retried, not judged.
    var showsKeyringFailure: Bool {
        let lostDecryptionKey = beginDecryption == 1 && decryptionOkay == 1 && goodMDC == 1 && badMDC == 0
            && decryptionFailed == 0 && decryptionKeys.isEmpty
        let cutSignatureCheck = beginDecryption > 0 && signaturesStarted > signaturesEnded && endDecryption == 0
        return lostDecryptionKey || cutSignatureCheck
    }

    /// None of the lines that end a finished run (`END_DECRYPTION`, `DECRYPTION_FAILED`, `FAILURE`, `ERROR`,
    /// `NODATA`): the gpg process was killed or lost its pipes mid-run (issue 28; gpgme then answers "No data",
    /// which would read as "not encrypted"). Only asked of input that is encrypted, integrity-protected data by
    /// its packets, for which GnuPG 2.2 always writes one of them, whatever the verdict.
    var endedWithoutVerdict: Bool {
        endDecryption == 0 && decryptionFailed == 0 && failures == 0 && errors == 0 && noData == 0
    }

    /// Integrity protection as the status lines report it (`GOODMDC` comes after a good MDC *or* AEAD check in
    /// GnuPG 2.2; `BADMDC` after a failed one).
    var integrity: Integrity {
        if badMDC > 0 { return .failed }
        if decryptionInfo > 0 && !infoSaysProtected { return .absent }
        if goodMDC > 0 { return .present }
        return .unknown
    }

    enum Integrity { case unknown, present, absent, failed }

    /// More than one layer of encryption was processed: the decrypted data held another encrypted message
    /// (key packets and encrypted data inside the encrypted data), which gpg decrypts in the same run.
    var sawNestedEncryption: Bool {
        beginDecryption > 1 || endDecryption > 1 || decryptionOkay > 1 || decryptionInfo > 1
            || decryptionKeys.count > 1 || plaintext > 1 || goodMDC > 1 || encToInsideData > 0
    }

    /// Every signal of one complete, successful, integrity-checked decryption of one layer: exactly one of
    /// each start, key, info, okay, MDC, literal and end line; no error or failed-decryption line. A `FAILURE`
    /// line (gpg's non-zero exit) is accepted only when signature lines explain it; the signature verdicts then
    /// say what was wrong with the signature.
    var isCompleteSuccess: Bool {
        beginDecryption == 1 && endDecryption == 1 && decryptionOkay == 1 && decryptionInfo == 1
            && decryptionKeys.count == 1 && plaintext == 1 && goodMDC == 1 && badMDC == 0 && decryptionFailed == 0
            && errors == 0 && noData == 0 && (failures == 0 || signatureProblems > 0) && infoSaysProtected
            && encToInsideData == 0
    }

    /// A clean `--unwrap` run: one layer decrypted and integrity-checked, nothing processed inside it (so no
    /// literal data line).
    var isCompleteUnwrap: Bool {
        beginDecryption == 1 && endDecryption == 1 && decryptionOkay == 1 && decryptionInfo == 1
            && decryptionKeys.count == 1 && goodMDC == 1 && badMDC == 0 && decryptionFailed == 0 && errors == 0
            && failures == 0 && noData == 0 && infoSaysProtected && encToInsideData == 0
    }

    /// The primary-key fingerprint of the key that decrypted (only when exactly one did).
    var decryptionPrimaryKey: String? {
        decryptionKeys.count == 1 ? decryptionKeys[0].primary : nil
    }
}
