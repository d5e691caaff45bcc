// The shared values (addresses, fingerprints) are part of MailBridge's API: its clients see them without a second
// import.
@_exported public import MailValues
