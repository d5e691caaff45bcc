import MailValues
public import NIOCore

/// Parses one command line into an ``SMTPCommand`` (RFC 5321 §4.1.1), strictly.
///
/// Security: the input is raw, untrusted network bytes. The line must end in CRLF and hold no other CR or LF
/// (RFC 5321 §2.3.8; bare CR/LF is the SMTP smuggling vector), must be valid UTF-8 (RFC 6531 §3.3), and must not
/// exceed `maximumLineLength` octets including the CRLF (RFC 5321 §4.5.3.1.4 plus an allowance for extension
/// parameters). Errors are ``SMTPReply`` values whose text never echoes the input.
///
/// ```swift
/// let parser = SMTPCommandParser(maximumLineLength: 640)
/// let command = try parser.parse(ByteBuffer(string: "MAIL FROM:<a@example.org> SIZE=100\r\n"))
/// ```
public struct SMTPCommandParser: Sendable {
    public let maximumLineLength: Int

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    public func parse(_ line: ByteBuffer) throws(SMTPReply) -> SMTPCommand {
        let bytes = line.readableBytesView
        guard bytes.count <= maximumLineLength else {
            throw SMTPReply(.syntaxError, .syntaxError, "line too long")  // RFC 5321 §4.5.3.1.4
        }
        guard bytes.count >= 2, bytes.last == UInt8(ascii: "\n"),
            bytes[bytes.index(bytes.endIndex, offsetBy: -2)] == UInt8(ascii: "\r")
        else {
            throw SMTPReply(.syntaxError, .syntaxError, "command must end with CRLF")  // RFC 5321 §2.3.8
        }
        let content = bytes.dropLast(2)
        guard !content.contains(UInt8(ascii: "\r")), !content.contains(UInt8(ascii: "\n")) else {
            throw SMTPReply(.syntaxError, .syntaxError, "bare CR or LF in command")  // RFC 5321 §2.3.8
        }
        guard !content.contains(where: { $0 == 0 }), let text = String(validating: content, as: UTF8.self) else {
            throw SMTPReply(.syntaxError, .syntaxError, "invalid characters in command")
        }
        return try parse(text: text)
    }

    private func parse(text: String) throws(SMTPReply) -> SMTPCommand {
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let argument = verbEnd == text.endIndex ? "" : String(text[text.index(after: verbEnd)...])

        switch verb {
        case "EHLO": return .ehlo(try Self.domainArgument(argument))
        case "HELO": return .helo(try Self.domainArgument(argument))
        case "MAIL": return try Self.parseMail(argument)
        case "RCPT": return try Self.parseRcpt(argument)
        case "DATA":
            try Self.noArgument(argument)
            return .data
        case "RSET":
            try Self.noArgument(argument)
            return .rset
        case "QUIT":
            try Self.noArgument(argument)
            return .quit
        case "STARTTLS":
            try Self.noArgument(argument)
            return .startTLS  // RFC 3207 §4: no parameters
        case "NOOP": return .noop  // RFC 5321 §4.1.1.9: the argument is ignored
        case "HELP": return .help
        case "VRFY":
            guard !argument.isEmpty else {
                throw SMTPReply(.parameterSyntaxError, .invalidArguments, "VRFY needs an argument")
            }
            return .vrfy
        case "EXPN", "TURN", "ETRN", "AUTH", "BDAT", "ATRN", "SEND", "SOML", "SAML":
            throw SMTPReply(.commandNotImplemented, .invalidCommand, "command not implemented")  // RFC 5321 §4.2.4
        default:
            throw SMTPReply(.syntaxError, .invalidCommand, "command unrecognized")
        }
    }

    private static func noArgument(_ argument: String) throws(SMTPReply) {
        guard argument.isEmpty else {
            throw SMTPReply(.parameterSyntaxError, .invalidArguments, "no arguments allowed")
        }
    }

    /// EHLO/HELO argument: a domain or address literal (RFC 5321 §4.1.1.1). Only its shape is checked; it is
    /// informational and never used for any decision.
    private static func domainArgument(_ argument: String) throws(SMTPReply) -> String {
        let domain = argument.trimmingSuffixSpaces()
        guard !domain.isEmpty, domain.utf8.count <= EmailAddress.maximumDomainOctets, !domain.contains(" ") else {
            throw SMTPReply(.parameterSyntaxError, .invalidArguments, "EHLO/HELO needs a domain")
        }
        return domain
    }

    /// `MAIL FROM:<reverse-path> [SP mail-parameters]` (RFC 5321 §4.1.1.2, §4.1.2).
    private static func parseMail(_ argument: String) throws(SMTPReply) -> SMTPCommand {
        let (path, rest) = try splitPath(argument, keyword: "FROM:")
        let reversePath: ReversePath
        if path.isEmpty {
            reversePath = .null  // RFC 5321 §4.5.5
        } else {
            do { reversePath = .mailbox(try EmailAddress(path)) } catch {
                throw SMTPReply(.parameterSyntaxError, .badSenderSyntax, "invalid sender address", underlying: error)
            }
        }
        return .mailFrom(reversePath, parameters: try parseMailParameters(rest))
    }

    /// `RCPT TO:<forward-path>` (RFC 5321 §4.1.1.3). RCPT parameters are not implemented (555, RFC 5321 §4.1.1.11).
    private static func parseRcpt(_ argument: String) throws(SMTPReply) -> SMTPCommand {
        let (path, rest) = try splitPath(argument, keyword: "TO:")
        guard rest.isEmpty else {
            throw SMTPReply(.parametersNotRecognized, .invalidArguments, "RCPT parameters not implemented")
        }
        do { return .rcptTo(try EmailAddress(path)) } catch {
            throw SMTPReply(
                .parameterSyntaxError,
                .badDestinationSyntax,
                "invalid recipient address",
                underlying: error
            )
        }
    }

    /// Splits `FROM:<path> params` into the path without brackets (source route dropped, RFC 5321 §4.1.2 / C.2)
    /// and the parameter text.
    private static func splitPath(_ argument: String, keyword: String) throws(SMTPReply) -> (String, String) {
        guard argument.uppercased().hasPrefix(keyword) else {
            throw SMTPReply(.parameterSyntaxError, .invalidArguments, "expected \(keyword)<path>")
        }
        var rest = argument.dropFirst(keyword.count)
        while rest.first == " " { rest = rest.dropFirst() }  // tolerated by common servers, not by RFC 5321
        guard rest.first == "<", let close = Self.closingBracket(in: rest) else {
            throw SMTPReply(.parameterSyntaxError, .invalidArguments, "path must be in angle brackets")
        }
        var path = rest[rest.index(after: rest.startIndex)..<close]
        if path.first == "@" {
            // A-d-l source route "@a,@b:" is ignored (RFC 5321 §4.1.2, Appendix C).
            guard let colon = path.firstIndex(of: ":") else {
                throw SMTPReply(.parameterSyntaxError, .invalidArguments, "invalid source route")
            }
            path = path[path.index(after: colon)...]
        }
        let parameters = rest[rest.index(after: close)...]
        guard parameters.isEmpty || parameters.first == " " else {
            throw SMTPReply(.parameterSyntaxError, .invalidArguments, "expected space after path")
        }
        return (String(path), String(parameters.drop(while: { $0 == " " })).trimmingSuffixSpaces())
    }

    /// The `>` closing the path, skipping a quoted local part that may itself contain `>`.
    private static func closingBracket(in text: Substring) -> Substring.Index? {
        var inQuotes = false
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" && inQuotes {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ">" && !inQuotes {
                return index
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// SIZE (RFC 1870 §3), BODY (RFC 6152 §2), SMTPUTF8 (RFC 6531 §3.4). Keywords are case-insensitive.
    private static func parseMailParameters(_ text: String) throws(SMTPReply) -> MailParameters {
        var parameters = MailParameters()
        var seen = Set<String>()
        for item in text.split(separator: " ") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let keyword = parts[0].uppercased()
            let value = parts.count == 2 ? String(parts[1]) : nil
            guard seen.insert(keyword).inserted else {
                throw SMTPReply(.parameterSyntaxError, .invalidArguments, "duplicate parameter")
            }
            switch (keyword, value) {
            case ("SIZE", let value?):
                guard !value.isEmpty, value.count <= 20, value.allSatisfy(\.isASCIIDigit), let size = Int(value) else {
                    throw SMTPReply(.parameterSyntaxError, .invalidArguments, "invalid SIZE")
                }
                parameters.size = size
            case ("BODY", let value?):
                switch value.uppercased() {
                case "7BIT": parameters.body = .sevenBit
                case "8BITMIME": parameters.body = .eightBitMIME
                default: throw SMTPReply(.parameterSyntaxError, .invalidArguments, "invalid BODY")
                }
            case ("SMTPUTF8", nil):
                parameters.smtpUTF8 = true
            default:
                throw SMTPReply(.parametersNotRecognized, .invalidArguments, "parameter not recognized")
            }
        }
        return parameters
    }
}

extension String {
    fileprivate func trimmingSuffixSpaces() -> String {
        var result = Substring(self)
        while result.last == " " { result = result.dropLast() }
        return String(result)
    }
}
