// Fuzz target: the TOML configuration loader (TOMLKit/toml++ underneath, then MailBridge's reader and
// validation). The input is a configuration file's text.
//
// Checked besides crashes: a configuration that loads is written by `tomlText` as a document that loads back to
// an equal value (the promise `tomlText` documents, used by `mailbridge serve --print-config` and reloads), and
// every refusal is a ConfigurationError with a description.

import MailBridge
import CFuzzDriver

/// SwiftPM links `main` to `FuzzConfiguration_main`: start libFuzzer's driver with this target's input function.
@_cdecl("FuzzConfiguration_main")
public func fuzzConfigurationMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzConfiguration(UnsafeRawPointer(data), size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    do {
        let configuration = try BridgeConfiguration.parse(text, file: "fuzz.toml")
        let written = configuration.tomlText
        let reread: BridgeConfiguration
        do {
            reread = try BridgeConfiguration.parse(written, file: "tomlText")
        } catch {
            preconditionFailure("tomlText of a loaded configuration does not load: \(error)")
        }
        precondition(reread == configuration, "tomlText does not round-trip")
    } catch {
        _ = error.description
    }
    return 0
}
