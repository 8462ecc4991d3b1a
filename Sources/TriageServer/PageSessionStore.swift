import Hummingbird

/// Where the approval page keeps its sessions: in memory, bounded.
///
/// Hummingbird's `MemoryPersistDriver` drops expired entries only from a timer that runs as a
/// service of its own, and keeps any number of live ones. This store needs no service and cannot
/// grow without bound: expired sessions are dropped whenever the store is full, and if it is
/// still full the session closest to expiry makes room (that browser signs in again). Sessions
/// are lost on restart, which only means signing in again.
///
/// - Complexity: O(1) per operation, O(capacity) when the store is full.
actor PageSessionStore: PersistDriver {
    /// 10 000 sessions of a few hundred bytes each: a few MiB at most, far more browsers than
    /// the approvers of one team.
    static let defaultCapacity = 10_000

    private struct Item {
        var value: any Codable & Sendable
        var expires: ContinuousClock.Instant?
    }

    private var items: [String: Item] = [:]
    let capacity: Int
    private let clock = ContinuousClock()

    init(capacity: Int = PageSessionStore.defaultCapacity) {
        precondition(capacity > 0, "a session store needs room for one session")
        self.capacity = capacity
    }

    var count: Int { items.count }

    func create(key: String, value: some Codable & Sendable, expires: Duration?) throws {
        guard live(key) == nil else { throw PersistError.duplicate }
        store(key, Item(value: value, expires: expires.map { clock.now.advanced(by: $0) }))
    }

    func set(key: String, value: some Codable & Sendable, expires: Duration?) {
        let expiresAt = expires.map { clock.now.advanced(by: $0) } ?? live(key)?.expires
        store(key, Item(value: value, expires: expiresAt))
    }

    func get<Object: Codable & Sendable>(key: String, as: Object.Type) throws -> Object? {
        guard let item = live(key) else { return nil }
        guard let object = item.value as? Object else { throw PersistError.invalidConversion }
        return object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as: Object.Type) throws -> (object: Object, ttl: Duration?)? {
        guard let item = live(key) else { return nil }
        guard let object = item.value as? Object else { throw PersistError.invalidConversion }
        return (object, item.expires.map { clock.now.duration(to: $0) })
    }

    func remove(key: String) {
        items[key] = nil
    }

    /// The item under `key` if it has not expired; an expired one is dropped.
    private func live(_ key: String) -> Item? {
        guard let item = items[key] else { return nil }
        if let expires = item.expires, expires <= clock.now {
            items[key] = nil
            return nil
        }
        return item
    }

    private func store(_ key: String, _ item: Item) {
        if items[key] == nil, items.count >= capacity {
            let now = clock.now
            items = items.filter { $0.value.expires.map { $0 > now } ?? true }
            if items.count >= capacity, let soonest = items.min(by: { Self.expiresSooner($0.value, $1.value) }) {
                items[soonest.key] = nil
            }
        }
        items[key] = item
    }

    /// Whether `a` expires before `b`; an item without expiry is evicted last.
    private static func expiresSooner(_ a: Item, _ b: Item) -> Bool {
        switch (a.expires, b.expires) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        default: return false
        }
    }
}
