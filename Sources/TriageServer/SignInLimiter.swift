import Synchronization

/// Failed sign-ins per client address (the approval page's token form): after `maximumFailures`
/// within `window` seconds, further attempts from that address are refused unread (429) until
/// the window since the first failure has passed, so a token cannot be guessed online however
/// fast a client posts. A success clears the address's count.
///
/// Memory is bounded: at most `maximumAddresses` addresses are tracked; when full, expired
/// entries are dropped first, and if none has expired every further address shares one entry
/// (an attacker with many addresses then limits itself, never the memory).
final class SignInLimiter: Sendable {
    struct Entry {
        var failures: Int
        var since: Int64
    }

    let maximumFailures: Int
    let window: Int64
    let maximumAddresses: Int
    let clock: @Sendable () -> Int64
    private let entries = Mutex<[String: Entry]>([:])

    static let overflowKey = "(other addresses)"

    init(maximumFailures: Int = 10, window: Int64 = 300, maximumAddresses: Int = 10_000,
         clock: @escaping @Sendable () -> Int64 = { TriageServer.now }) {
        self.maximumFailures = maximumFailures
        self.window = window
        self.maximumAddresses = maximumAddresses
        self.clock = clock
    }

    /// Seconds the address must wait before trying again, or nil when it may try now.
    func retryAfter(_ address: String) -> Int64? {
        let now = clock()
        return entries.withLock { entries in
            guard let entry = entries[key(address, in: entries)], entry.failures >= maximumFailures else { return nil }
            let wait = entry.since + window - now
            // A clock that went back keeps the wait within one window.
            return wait > 0 ? min(wait, window) : nil
        }
    }

    func failed(_ address: String) {
        let now = clock()
        entries.withLock { entries in
            if entries[address] == nil && entries.count >= maximumAddresses {
                entries = entries.filter { now - $0.value.since < window && $0.value.since <= now }
            }
            let key = key(address, in: entries)
            if var entry = entries[key], now - entry.since < window, entry.since <= now {
                entry.failures += 1
                entries[key] = entry
            } else {
                entries[key] = Entry(failures: 1, since: now)
            }
        }
    }

    func succeeded(_ address: String) {
        _ = entries.withLock { $0.removeValue(forKey: address) }
    }

    var trackedAddresses: Int { entries.withLock { $0.count } }

    private func key(_ address: String, in entries: [String: Entry]) -> String {
        entries[address] != nil || entries.count < maximumAddresses ? address : Self.overflowKey
    }
}
