import CEtPan.X509
import Foundation

/// Verifies the certificate chain a TLS server presented (DER, leaf first) against trust anchors from a PEM CA
/// file and checks that the leaf is valid for the expected host name (RFC 6125 via OpenSSL's `X509_check_host`,
/// or `X509_check_ip_asc` for an IP literal).
///
/// Why after the handshake: Debian's libetpan is built with GnuTLS, so `mailstream_ssl_get_openssl_ssl_ctx`
/// returns NULL in the SSL context callback and libetpan offers no GnuTLS verification hook. libetpan hands us
/// the peer chain (`mailstream_get_certificate_chain`), and we verify it with OpenSSL's X.509 verifier before
/// any credential is sent. The TLS handshake itself (GnuTLS) proves the peer holds the leaf's private key, so a
/// verified leaf authenticates the server.
///
/// Security: parses untrusted DER certificates from the network (OpenSSL `d2i_X509`, bounded by ``maximumChain``
/// and ``maximumCertificateBytes``).
struct IMAPCertificateVerifier {
    static let maximumChain = 10
    static let maximumCertificateBytes = 64 * 1024

    /// PEM file with trusted CA certificates; nil means OpenSSL's default paths (the system store).
    var caFile: String?
    /// The name the certificate must be valid for.
    var hostName: String

    /// Returns normally only if the chain verifies; otherwise throws ``IMAPError/Code/certificateRejected`` or
    /// ``IMAPError/Code/trustAnchors``.
    func verify(chain der: [[UInt8]]) throws(IMAPError) {
        guard !der.isEmpty, der.count <= Self.maximumChain,
            der.allSatisfy({ !$0.isEmpty && $0.count <= Self.maximumCertificateBytes })
        else { throw IMAPError(.certificateRejected) }

        guard let store = X509_STORE_new() else { throw IMAPError(.trustAnchors) }
        defer { X509_STORE_free(store) }
        if let caFile {
            // "X509_STORE_load_file() loads trusted certificate(s) into an X509_STORE from a given file" (OpenSSL 3).
            guard X509_STORE_load_file(store, caFile) == 1 else { throw IMAPError(.trustAnchors) }
        } else {
            guard X509_STORE_set_default_paths(store) == 1 else { throw IMAPError(.trustAnchors) }
        }

        var certificates: [OpaquePointer] = []
        defer { certificates.forEach { X509_free($0) } }
        for bytes in der {
            let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
                var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
                return d2i_X509(nil, &cursor, buffer.count)
            }
            guard let parsed else { throw IMAPError(.certificateRejected) }
            certificates.append(parsed)
        }

        guard let untrusted = OPENSSL_sk_new_null() else { throw IMAPError(.trustAnchors) }
        defer { OPENSSL_sk_free(untrusted) }  // the stack only borrows the certificates
        for certificate in certificates.dropFirst() {
            guard OPENSSL_sk_push(untrusted, UnsafeRawPointer(UnsafePointer<UInt8>(certificate))) > 0 else {
                throw IMAPError(.trustAnchors)
            }
        }

        guard let context = X509_STORE_CTX_new() else { throw IMAPError(.trustAnchors) }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, certificates[0], untrusted) == 1 else {
            throw IMAPError(.trustAnchors)
        }
        // Purpose: a TLS server certificate (extended key usage serverAuth where present).
        X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_SERVER)
        // "X509_verify_cert() ... returns 1 if a complete chain can be built and validated" (OpenSSL 3).
        guard X509_verify_cert(context) == 1 else { throw IMAPError(.certificateRejected) }

        let leaf = certificates[0]
        let matches: Int32 =
            if Self.isIPLiteral(hostName) {
                X509_check_ip_asc(leaf, hostName, 0)
            } else {
                // No partial wildcards ("f*o.example"), as RFC 6125 §7.2 recommends.
                X509_check_host(leaf, hostName, hostName.utf8.count, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS), nil)
            }
        guard matches == 1 else { throw IMAPError(.certificateRejected) }
    }

    static func isIPLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
