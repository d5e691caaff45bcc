import Foundation
import GRDB

enum ForeignDatabase {
    static func create(at url: URL) throws {
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE other (x INTEGER)") }
        try queue.close()
    }
}
