import CEtPan

/// Copies libetpan's parsed MIME fields (`struct mailmime_content`, `mailmime_fields`, mailmime_types.h) into
/// Swift values. Reads only; the structures stay owned by ``EtPanMIMETree``.
enum EtPanFields {
    static func contentType(_ content: mailmime_content, limits: MIMELimits) -> ContentType {
        var type = "application"
        if let typePointer = content.ct_type {
            let t = typePointer.pointee
            if Int(t.tp_type) == MAILMIME_TYPE_DISCRETE_TYPE, let d = t.tp_data.tp_discrete_type?.pointee {
                switch Int(d.dt_type) {
                case MAILMIME_DISCRETE_TYPE_TEXT: type = "text"
                case MAILMIME_DISCRETE_TYPE_IMAGE: type = "image"
                case MAILMIME_DISCRETE_TYPE_AUDIO: type = "audio"
                case MAILMIME_DISCRETE_TYPE_VIDEO: type = "video"
                case MAILMIME_DISCRETE_TYPE_APPLICATION: type = "application"
                default: type = d.dt_extension.map { String(cString: $0) } ?? "application"
                }
            } else if Int(t.tp_type) == MAILMIME_TYPE_COMPOSITE_TYPE, let c = t.tp_data.tp_composite_type?.pointee {
                switch Int(c.ct_type) {
                case MAILMIME_COMPOSITE_TYPE_MESSAGE: type = "message"
                case MAILMIME_COMPOSITE_TYPE_MULTIPART: type = "multipart"
                default: type = c.ct_token.map { String(cString: $0) } ?? "application"
                }
            }
        }
        let subtype = content.ct_subtype.map { String(cString: $0) } ?? "octet-stream"
        var raw: [(name: String, value: String)] = []
        forEach(content.ct_parameters, as: mailmime_parameter.self) { parameter in
            if let name = parameter.pa_name, let value = parameter.pa_value {
                raw.append((String(cString: name), String(decoding: cBytes(value), as: UTF8.self)))
            }
        }
        let parameters = ParameterDecoder.decode(raw, maximumSections: limits.maximumParameterSections)
        return ContentType(type: type, subtype: subtype, parameters: parameters)
    }

    /// Content-Transfer-Encoding and Content-Disposition from `mm_mime_fields` (mailmime_types.h).
    static func mimeFields(
        _ fields: UnsafeMutablePointer<mailmime_fields>?, limits: MIMELimits
    ) -> (TransferEncoding, ContentDisposition?) {
        var encoding = TransferEncoding.sevenBit
        var disposition: ContentDisposition?
        forEach(fields?.pointee.fld_list, as: mailmime_field.self) { field in
            switch Int(field.fld_type) {
            case MAILMIME_FIELD_TRANSFER_ENCODING:
                if let mechanism = field.fld_data.fld_encoding?.pointee {
                    encoding = transferEncoding(mechanism)
                }
            case MAILMIME_FIELD_DISPOSITION:
                if let value = field.fld_data.fld_disposition?.pointee {
                    disposition = contentDisposition(value, limits: limits)
                }
            default:
                break
            }
        }
        return (encoding, disposition)
    }

    private static func transferEncoding(_ mechanism: mailmime_mechanism) -> TransferEncoding {
        switch Int(mechanism.enc_type) {
        case MAILMIME_MECHANISM_7BIT: .sevenBit
        case MAILMIME_MECHANISM_8BIT: .eightBit
        case MAILMIME_MECHANISM_BINARY: .binary
        case MAILMIME_MECHANISM_QUOTED_PRINTABLE: .quotedPrintable
        case MAILMIME_MECHANISM_BASE64: .base64
        default: .other(mechanism.enc_token.map { String(cString: $0).lowercased() } ?? "")
        }
    }

    private static func contentDisposition(_ value: mailmime_disposition, limits: MIMELimits) -> ContentDisposition {
        var kind = ContentDisposition.Kind.other("")
        if let type = value.dsp_type?.pointee {
            switch Int(type.dsp_type) {
            case MAILMIME_DISPOSITION_TYPE_INLINE: kind = .inline
            case MAILMIME_DISPOSITION_TYPE_ATTACHMENT: kind = .attachment
            default: kind = .other(type.dsp_extension.map { String(cString: $0).lowercased() } ?? "")
            }
        }
        var raw: [(name: String, value: String)] = []
        forEach(value.dsp_parms, as: mailmime_disposition_parm.self) { parm in
            switch Int(parm.pa_type) {
            case MAILMIME_DISPOSITION_PARM_FILENAME:
                if let name = parm.pa_data.pa_filename {
                    raw.append(("filename", String(decoding: cBytes(name), as: UTF8.self)))
                }
            case MAILMIME_DISPOSITION_PARM_PARAMETER:
                if let p = parm.pa_data.pa_parameter?.pointee, let name = p.pa_name, let v = p.pa_value {
                    raw.append((String(cString: name), String(decoding: cBytes(v), as: UTF8.self)))
                }
            default:
                break
            }
        }
        return ContentDisposition(
            kind: kind, parameters: ParameterDecoder.decode(raw, maximumSections: limits.maximumParameterSections))
    }

    /// Walks a libetpan `clist` (clist.h: `first`, `next`, `data`).
    private static func forEach<T>(_ list: UnsafeMutablePointer<clist>?, as: T.Type, _ body: (T) -> Void) {
        var cell = list?.pointee.first
        while let current = cell {
            if let data = current.pointee.data { body(data.assumingMemoryBound(to: T.self).pointee) }
            cell = current.pointee.next
        }
    }

    private static func cBytes(_ pointer: UnsafeMutablePointer<CChar>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer, count: strlenSafe(pointer)))
    }

    private static func strlenSafe(_ pointer: UnsafeMutablePointer<CChar>) -> Int {
        var n = 0
        while pointer[n] != 0 { n += 1 }
        return n
    }
}
