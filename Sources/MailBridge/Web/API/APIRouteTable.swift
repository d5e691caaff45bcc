// Security: answers which methods a path below `/api/v1/` has, from the served OpenAPI document (whose paths and
// methods a test pins to the registered routes), so a method a route does not have gets 405 with `Allow` instead
// of the router's 404 (RFC 9110 §15.5.6; issue 25). Matches path segments only; nothing is echoed.

import Foundation

/// The API's paths and methods as ``OpenAPIDocument`` lists them.
enum APIRouteTable {
    /// Each documented path as segments (`{…}` matches any one non-empty segment) with its methods, upper-case.
    static let routes: [(segments: [Substring], methods: [String])] = {
        guard let document = try? JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8))
            as? [String: Any], let paths = document["paths"] as? [String: [String: Any]]
        else { return [] }
        return paths.map { path, operations in
            ((APIRoutes.prefix + path).split(separator: "/"), operations.keys.map { $0.uppercased() }.sorted())
        }
    }()

    /// The methods of the documented path that `path` matches, or nil if it matches none.
    static func allowedMethods(forPath path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { pattern, segment in
                (pattern.hasPrefix("{") && pattern.hasSuffix("}")) || pattern == segment
            }
        }?.methods
    }
}
