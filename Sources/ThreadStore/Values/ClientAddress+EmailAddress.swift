public import MailValues

extension ClientAddress {
    /// The store's form of a parsed address: its text as the client wrote it, matched by its canonical form
    /// (``EmailAddress/canonical``: NFC, lower case, IDNA domain), so look-alike spellings find one registry entry.
    public init(_ address: EmailAddress) throws(ThreadStoreError) {
        try self.init(address.unredactedDescription, canonical: address.canonical)
    }
}
