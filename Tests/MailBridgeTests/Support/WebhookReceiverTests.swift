// The webhook test harness checked on its own, without the gateway: requests signed here per the Standard Webhooks
// algorithm and sent with curl reach the real HTTPS receiver (TestSupport/WebhookReceiver.swift), which answers
// by its script, records every attempt and verifies signatures with the PyPI package standardwebhooks.
import Crypto
import Foundation
import TestSupport
import Testing

@Suite struct WebhookReceiverTests {
    /// The Standard Webhooks signature, written out: the key is the base64 after `whsec_`, the signed content is
    /// `{id}.{timestamp}.{body}`, the signature `v1,` and the base64 of its HMAC-SHA256.
    static func sign(secret: String, id: String, timestamp: Int, body: String) throws -> String {
        #expect(secret.hasPrefix("whsec_"))
        let key = try #require(Data(base64Encoded: String(secret.dropFirst("whsec_".count))))
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8),
                                                   using: SymmetricKey(data: key))
        return "v1," + Data(code).base64EncodedString()
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }

    /// POSTs `body` as JSON with the three webhook headers; the HTTP status (0 when there was no answer), curl's
    /// exit status and its error text.
    static func post(
        _ receiver: WebhookReceiver, id: String, timestamp: Int, signature: String, body: String,
        trustCA: Bool = true, maxTime: Int = 10
    ) throws -> (http: Int, exit: Int32, error: String) {
        var arguments = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", String(maxTime),
                         "-H", "content-type: application/json", "-H", "webhook-id: \(id)",
                         "-H", "webhook-timestamp: \(timestamp)", "-H", "webhook-signature: \(signature)",
                         "--data-binary", body, receiver.url]
        if trustCA { arguments = ["--cacert", receiver.caFile.path] + arguments }
        let result = try Shell.run("curl", arguments, allowFailure: true)
        return (Int(String(decoding: result.stdout, as: UTF8.self)) ?? -1, result.status, result.stderr)
    }

    /// The signer above reproduces the test vector the specification publishes.
    @Test func signerMatchesTheSpecificationsTestVector() throws {
        #expect(try Self.sign(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                              timestamp: 1_614_265_330, body: #"{"test": 2432232314}"#)
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    /// Script `500,200`: the answers come in order (then 204), every attempt is recorded with its answer, a
    /// correct signature (alone or in a list) verifies, and one made with another secret does not.
    @Test func answersByScriptAndVerifiesSignatures() async throws {
        let receiver = try WebhookReceiver(script: ["500", "200"])
        defer { receiver.stop() }
        #expect(receiver.url == "https://127.0.0.1:\(receiver.port)/hooks")
        let id = "msg_\(UUID().uuidString)", timestamp = Self.now, body = #"{"type":"thread.reply","n":1}"#
        let signature = try Self.sign(secret: receiver.secret, id: id, timestamp: timestamp, body: body)
        let forged = try Self.sign(secret: WebhookReceiver.makeSecret(), id: id, timestamp: timestamp, body: body)

        let first = try Self.post(receiver, id: id, timestamp: timestamp, signature: signature, body: body)
        #expect(first.http == 500, "\(first)")
        let second = try Self.post(receiver, id: id, timestamp: timestamp, signature: "\(forged) \(signature)",
                                   body: body)
        #expect(second.http == 200, "\(second)")
        let third = try Self.post(receiver, id: "msg_forged", timestamp: timestamp, signature: forged, body: body)
        #expect(third.http == 204, "\(third)")

        let deliveries = try await receiver.waitFor(count: 3, timeout: .seconds(5))
        #expect(deliveries.map(\.answer) == ["500", "200", "204"])
        #expect(deliveries.map(\.verified) == [true, true, false])
        #expect(deliveries.map(\.id) == [id, id, "msg_forged"])
        #expect(deliveries.allSatisfy {
            $0.timestamp == String(timestamp) && $0.body == body && $0.path == "/hooks"
                && $0.contentType == "application/json"
        })
        #expect(deliveries.first?.signature == signature)
    }

    /// Any of several secrets verifies (key rotation).
    @Test func anyOfTheSecretsVerifies() async throws {
        let old = WebhookReceiver.makeSecret(), new = WebhookReceiver.makeSecret()
        let receiver = try WebhookReceiver(secrets: [old, new])
        defer { receiver.stop() }
        #expect(receiver.secret == old && receiver.secrets == [old, new])
        let timestamp = Self.now
        for (id, secret) in [("msg_old", old), ("msg_new", new)] {
            let signature = try Self.sign(secret: secret, id: id, timestamp: timestamp, body: "{}")
            #expect(try Self.post(receiver, id: id, timestamp: timestamp, signature: signature, body: "{}").http == 204)
        }
        let deliveries = try await receiver.waitFor(count: 2, timeout: .seconds(5))
        #expect(deliveries.map(\.verified) == [true, true])
    }

    /// The certificate check is real: curl without the receiver's CA refuses the handshake (curl's exit 60,
    /// "SSL certificate problem") and nothing reaches the receiver.
    @Test func clientWithoutTheCARefusesTheCertificate() throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let result = try Self.post(receiver, id: "msg_1", timestamp: Self.now, signature: "v1,AAAA", body: "{}",
                                   trustCA: false)
        #expect(result.exit == 60, "\(result)")
        #expect(try receiver.received().isEmpty)
    }

    /// `hang` records the attempt and never answers, so a client with a 2 s limit times out (curl's exit 28);
    /// the next request is answered meanwhile.
    @Test func hangOutlastsTheClientsTimeout() async throws {
        let receiver = try WebhookReceiver(script: ["hang"])
        defer { receiver.stop() }
        let timestamp = Self.now
        let signature = try Self.sign(secret: receiver.secret, id: "msg_hang", timestamp: timestamp, body: "{}")
        let started = ContinuousClock.now
        let hung = try Self.post(receiver, id: "msg_hang", timestamp: timestamp, signature: signature, body: "{}",
                                 maxTime: 2)
        #expect(hung.exit == 28 && hung.http == 0, "\(hung)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let next = try Self.post(receiver, id: "msg_hang", timestamp: timestamp, signature: signature, body: "{}")
        #expect(next.http == 204, "\(next)")
        let deliveries = try await receiver.waitFor(count: 2, timeout: .seconds(5))
        #expect(deliveries.map(\.answer) == ["hang", "204"])
        #expect(deliveries.map(\.verified) == [true, true])
    }
}
