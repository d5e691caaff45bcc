public import MailValues

/// The fingerprint of a client's OpenPGP key: the gateway's one ``KeyFingerprint`` type (module MailValues), under
/// the name the store's API has always used for it.
public typealias ClientKeyFingerprint = KeyFingerprint
