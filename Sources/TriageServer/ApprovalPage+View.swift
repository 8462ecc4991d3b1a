import Foundation
import TriageCore
import TriageEngine
import TriageRuntime

// What `Templates/page.mustache` renders. Every value is text the page shows as it is: the
// template only uses `{{ }}`, which HTML-escapes, so a service name or reason holding markup is
// shown, never run.

struct PageView {
    var flash: PageFlash?
    /// Signed out (with a token file): the sign-in form.
    var signIn: SignInView?
    var user: UserView?
    /// Started without a token file: the queue can be read, not decided.
    var readOnly = false
    var board: BoardView?
    /// A refused request: its status and why.
    var failure: FailureView?
}

struct SignInView {
    var error: String?
}

struct UserView {
    var name: String
    var csrf: String
    var isApprover: Bool
}

struct FailureView {
    var title: String
    var message: String
}

/// The queue as people read it.
struct BoardView {
    var hasQueue: Bool
    var canDecide: Bool
    var csrf: String?
    var pending: [PendingView]
    var pendingCount: Int
    /// Pending ones past the page's limit (nil: every one is shown).
    var pendingHidden: Int?
    var decisions: [DecisionView]
    var services: [ServiceView]
    var now: TimeView
    /// Why decisions are refused right now (database deleted, read-only, …), or nil.
    var unavailable: String?
    // Mustache has no "is not empty" test that keeps the outer context (and reads stored
    // properties only, through Mirror), hence these two.
    let hasDecisions: Bool
    let hasServices: Bool

    init(hasQueue: Bool, canDecide: Bool, csrf: String?, pending: [PendingView], pendingCount: Int, decisions: [DecisionView],
         services: [ServiceView], now: TimeView) {
        self.hasQueue = hasQueue
        self.canDecide = canDecide
        self.csrf = csrf
        self.pending = pending
        self.pendingCount = pendingCount
        pendingHidden = pendingCount > pending.count ? pendingCount - pending.count : nil
        self.decisions = decisions
        self.services = services
        self.now = now
        hasDecisions = !decisions.isEmpty
        hasServices = !services.isEmpty
    }
}

/// A time as the page shows it (`2026-12-06 10:11 UTC`: short enough for a phone's column) and
/// in full for the `datetime` attribute.
struct TimeView {
    var iso: String
    var shown: String

    init(_ seconds: Int64) {
        iso = Timestamp.iso(seconds)
        // iso is always `YYYY-MM-DDTHH:MM:SSZ` (20 characters).
        shown = iso.prefix(10) + " " + iso.dropFirst(11).prefix(5) + " UTC"
    }
}

struct Pair {
    var name: String
    var value: String
}

struct PendingView {
    var id: String
    /// The id as a URL path segment of the form's action.
    var path: String
    var service: String
    var action: String
    var confidence: String
    var parameters: [Pair]
    var reasons: [String]
    var scores: [Pair]
    var tried: [String]
    var raised: TimeView
    var expires: TimeView
    var timeLeft: String
}

struct DecisionView {
    var id: String
    var service: String
    var action: String
    var status: String
    var by: String
    var when: TimeView
    var note: String?
}

struct ServiceView {
    var service: String
    var state: String
    var lastRow: TimeView?
    /// When the open incident began; nil: none open.
    var incident: TimeView?
}

extension ApprovalPage {
    /// The queue and the services now; without a queue (a model file, or no database) only a note.
    func board(canDecide: Bool, csrf: String?) async throws -> BoardView {
        let now = TriageServer.now
        guard let store = server.served.store else {
            return BoardView(hasQueue: false, canDecide: false, csrf: nil, pending: [], pendingCount: 0, decisions: [], services: [],
                             now: TimeView(now))
        }
        let pending: [Recommendation], decided: [Recommendation]
        do {
            // Oldest first, as the queue lists them: the next to expire on top.
            pending = try await store.list(status: .pending, now: now)
            decided = try await store.recentlyDecided(limit: Self.recentDecisions, now: now)
        } catch {
            throw TriageServer.map(error)
        }
        // Said before anyone types a comment: a decision now would be refused (503).
        let unavailable = await server.served.unavailableReason()
        var services: [ServiceStatus] = []
        if let engine = server.served.engine {
            services = await engine.services()
            server.served.lastServices.set(services)
        } else if let replica = server.served.replica {
            services = await replica.services()
            server.served.lastServices.set(services)
        }
        var board = BoardView(
            hasQueue: true, canDecide: canDecide, csrf: csrf,
            pending: pending.prefix(pendingShown).map { Self.pendingView($0, now: now) }, pendingCount: pending.count,
            decisions: Self.recentDecisions(decided, limit: Self.recentDecisions),
            services: services.map(Self.serviceView), now: TimeView(now))
        board.unavailable = unavailable
        return board
    }

    static func pendingView(_ r: Recommendation, now: Int64) -> PendingView {
        PendingView(
            id: r.id, path: r.id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? r.id,
            service: r.service, action: r.action.name,
            confidence: confidence(r.confidence),
            parameters: r.parameters.sorted { $0.key < $1.key }.map { Pair(name: $0.key, value: String($0.value)) },
            reasons: r.reasons,
            scores: r.scores.sorted { $0.key < $1.key }.map { Pair(name: $0.key, value: String(format: "%.3f", $0.value)) },
            tried: r.tried.actions.map(\.name),
            raised: TimeView(r.raisedAt), expires: TimeView(r.expires),
            timeLeft: timeLeft(r.expires - now))
    }

    /// Decided or expired recommendations, newest decision first (an expiry counts at its
    /// expiry time), at most `limit`.
    static func recentDecisions(_ all: [Recommendation], limit: Int) -> [DecisionView] {
        func when(_ r: Recommendation) -> Int64 { r.decidedAt ?? r.expires }
        return all.filter { $0.status != .pending }
            .sorted { (when($0), $0.id) > (when($1), $1.id) }
            .prefix(limit)
            .map { r in
                DecisionView(id: r.id, service: r.service, action: r.action.name, status: r.status.rawValue,
                             by: r.decidedBy ?? (r.status == .expired ? "nobody (expired)" : "—"),
                             when: TimeView(when(r)), note: r.decisionNote)
            }
    }

    static func serviceView(_ s: ServiceStatus) -> ServiceView {
        ServiceView(service: s.service, state: s.state.rawValue, lastRow: s.lastRow.map(TimeView.init),
                    incident: s.incidentStart.map(TimeView.init))
    }

    /// `0.8734` → `87 %`: people compare confidences at a glance; the JSON API has the digits.
    static func confidence(_ value: Double) -> String {
        "\(Int((value * 100).rounded())) %"
    }

    /// Seconds until expiry in the largest two units that matter: `45 s`, `12 min`, `1 h 05 min`,
    /// `2 d 3 h`.
    static func timeLeft(_ seconds: Int64) -> String {
        if seconds <= 0 { return "expired" }
        if seconds < 60 { return "\(seconds) s" }
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 24 { return "\(hours) h " + String(format: "%02d", minutes % 60) + " min" }
        return "\(hours / 24) d \(hours % 24) h"
    }
}
