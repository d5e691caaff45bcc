import Foundation

// Issue 20: the gateway key lifecycle through the service's worker threads (see GPGContext+KeyLifecycle.swift).
extension PGPService {
    /// See ``GPGContext/setExpiry(_:expiresInSeconds:)``.
    public func setExpiry(_ fingerprint: KeyFingerprint, expiresInSeconds: UInt) async throws {
        try await withContext(changesKeyring: true) {
            try $0.setExpiry(fingerprint, expiresInSeconds: expiresInSeconds)
        }
    }

    /// See ``GPGContext/storedRevocationCertificate(_:)``.
    public func storedRevocationCertificate(_ fingerprint: KeyFingerprint) async throws -> [UInt8]? {
        try await withContext { try $0.storedRevocationCertificate(fingerprint) }
    }

    /// See ``GPGContext/importRevocation(_:for:)``.
    public func importRevocation(_ certificate: [UInt8], for fingerprint: KeyFingerprint) async throws {
        try await withContext(changesKeyring: true) { try $0.importRevocation(certificate, for: fingerprint) }
    }

    /// See ``GPGContext/deleteKey(_:)``.
    public func deleteKey(_ fingerprint: KeyFingerprint) async throws -> Bool {
        try await withContext(changesKeyring: true) { try $0.deleteKey(fingerprint) }
    }

    /// See ``GPGContext/exportGatewaySecretKey(_:)``.
    public func exportGatewaySecretKey(_ fingerprint: KeyFingerprint) async throws -> [UInt8] {
        try await withContext { try $0.exportGatewaySecretKey(fingerprint) }
    }

    /// See ``GPGContext/importGatewaySecretKey(_:accepting:)``.
    public func importGatewaySecretKey(_ keyData: [UInt8],
                                       accepting: @escaping @Sendable (KeyFingerprint) -> Bool) async throws
        -> KeyFingerprint
    {
        try await withContext(changesKeyring: true) { try $0.importGatewaySecretKey(keyData, accepting: accepting) }
    }
}
