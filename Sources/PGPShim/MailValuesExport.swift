// The shared values (addresses, fingerprints) are part of PGPShim's API: its clients see them without a second import.
@_exported public import MailValues
