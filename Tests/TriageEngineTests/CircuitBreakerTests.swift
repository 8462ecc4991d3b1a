import Testing
@testable import TriageEngine

/// The breaker's state machine against resilience4j's count-based semantics (window, threshold,
/// minimum outcomes, wait, one half-open trial) and a wall clock that goes backwards.
@Suite struct CircuitBreakerTests {
    let settings = CircuitBreaker.Settings()

    @Test func defaultsAreTheIssues() {
        #expect(settings.windowSize == 5 && settings.failureRateThreshold == 0.5 && settings.minimumOutcomes == 3)
        #expect(settings.waitSeconds == 600)
    }

    @Test func opensOnlyWithTheMinimumOutcomesAndTheRateReached() {
        var b = CircuitBreaker()
        // Two failures: 100 % failed, but fewer than 3 outcomes — no verdict yet.
        #expect(b.record(failure: true, at: 100, settings: settings).isEmpty)
        #expect(b.record(failure: true, at: 110, settings: settings).isEmpty)
        #expect(b.state(at: 120) == .closed)
        // The third outcome, a success: 2 of 3 = 67 % ≥ 50 % opens it.
        #expect(b.record(failure: false, at: 130, settings: settings) == [.init(from: .closed, to: .open)])
        #expect(b.state(at: 130) == .open && b.openedAt == 130 && b.retryAt == 730)
        #expect(b.failures == 2 && b.outcomes == 3)
    }

    @Test func theRateIsOverTheLastWindowOnly() {
        var b = CircuitBreaker()
        // S S F S S: 1 of 5 failed.
        for (k, failed) in [false, false, true, false, false].enumerated() {
            #expect(b.record(failure: failed, at: Int64(k), settings: settings).isEmpty)
        }
        // F: window is now S F S S F (2 of 5 = 40 %): still closed; the first S left the window.
        #expect(b.record(failure: true, at: 10, settings: settings).isEmpty)
        #expect(b.outcomes == 5 && b.failures == 2)
        // F: F S S F F → 3 of 5 = 60 % opens.
        #expect(b.record(failure: true, at: 20, settings: settings) == [.init(from: .closed, to: .open)])
    }

    @Test func exactlyTheThresholdOpens() {
        var s = settings
        s.windowSize = 4
        s.minimumOutcomes = 4
        var b = CircuitBreaker()
        for (k, failed) in [true, false, true].enumerated() { _ = b.record(failure: failed, at: Int64(k), settings: s) }
        // 2 of 4 = 50 %: "equal or greater than the threshold" opens (resilience4j).
        #expect(b.record(failure: false, at: 5, settings: s) == [.init(from: .closed, to: .open)])
    }

    @Test func waitThenOneTrialWhoseSuccessCloses() {
        var b = opened(at: 1_000)
        #expect(b.state(at: 1_599) == .open)
        #expect(b.state(at: 1_600) == .halfOpen)
        // The trial succeeds: closed, with a fresh window.
        #expect(b.record(failure: false, at: 1_700, settings: settings)
                == [.init(from: .open, to: .halfOpen), .init(from: .halfOpen, to: .closed)])
        #expect(b.state(at: 1_700) == .closed && b.outcomes == 0 && b.openedAt == nil && b.retryAt == nil)
    }

    @Test func aFailedTrialOpensAgainForAWholeWait() {
        var b = opened(at: 1_000)
        let step = b.advance(to: 1_600, settings: settings)
        #expect(step.changed && step.transition == CircuitBreaker.Transition(from: .open, to: .halfOpen))
        #expect(b.storedState == .halfOpen)
        #expect(b.record(failure: true, at: 1_650, settings: settings) == [.init(from: .halfOpen, to: .open)])
        #expect(b.state(at: 1_650) == .open && b.openedAt == 1_650 && b.retryAt == 2_250)
        #expect(b.state(at: 2_249) == .open && b.state(at: 2_250) == .halfOpen)
    }

    @Test func lateOutcomesWhileOpenAreCountedWithoutATransition() {
        var b = opened(at: 1_000)
        #expect(b.record(failure: false, at: 1_100, settings: settings).isEmpty)
        #expect(b.state(at: 1_100) == .open && b.retryAt == 1_600 && b.outcomes == 4)
    }

    /// The clock goes back a year while the breaker is open: it stays open one full wait from the
    /// new reading, not a year; a clock going back less than that keeps the original wait.
    @Test func aClockGoingBackwardsNeitherKeepsItOpenForEverNorClosesItEarly() {
        let year: Int64 = 365 * 86_400
        var b = opened(at: 10 * year)
        let back = 9 * year
        #expect(b.state(at: back) == .open)
        let step = b.advance(to: back, settings: settings)
        #expect(step.changed && step.transition == nil)
        #expect(b.openedAt == back && b.retryAt == back + 600)
        #expect(b.state(at: back + 599) == .open && b.state(at: back + 600) == .halfOpen)
        // Re-anchoring again at the same reading changes nothing.
        #expect(b.advance(to: back + 10, settings: settings).changed == false)

        // Back, but not before it opened (5 000 → 5 100 after being at 5 300): the wait still
        // ends at the original retry time, so it is not out early by the clock's reading.
        var c = opened(at: 5_000)
        #expect(c.advance(to: 5_100, settings: settings).changed == false)
        #expect(c.retryAt == 5_600 && c.state(at: 5_599) == .open)
        // Back before it opened: re-anchored to a whole wait from the new reading (5 500), so at
        // least a whole wait of real time passes between opening and the trial.
        #expect(c.advance(to: 4_900, settings: settings).changed)
        #expect(c.retryAt == 5_500 && c.state(at: 5_499) == .open && c.state(at: 5_500) == .halfOpen)
        // Never out early: a backwards jump alone does not make it half-open.
        #expect(c.state(at: 100) == .open)
    }

    @Test func windowTextRoundTripsAndRefusesDamage() throws {
        var b = CircuitBreaker()
        _ = b.record(failure: true, at: 1, settings: settings)
        _ = b.record(failure: false, at: 2, settings: settings)
        #expect(b.windowText == "FS")
        #expect(try CircuitBreaker.window(from: "FS") == [true, false])
        #expect(throws: EngineError.self) { try CircuitBreaker.window(from: "FX") }
        #expect(throws: EngineError.self) { try CircuitBreaker(state: .open, window: [], openedAt: nil, retryAt: nil) }
        #expect(throws: EngineError.self) { try CircuitBreaker(state: .open, window: [], openedAt: 10, retryAt: 5) }
    }

    @Test func settingsOutOfRangeAreRefusedWithTheirNames() {
        func refused(_ change: (inout CircuitBreaker.Settings) -> Void) -> String? {
            var s = CircuitBreaker.Settings()
            change(&s)
            do { try s.validate(); return nil } catch {
                if case .outOfRange(let field, _, _) = error { return field }
                return "other"
            }
        }
        #expect(refused { _ in } == nil)
        #expect(refused { $0.windowSize = 0 } == "breaker window")
        #expect(refused { $0.failureRateThreshold = 0 } == "breaker failure-rate threshold")
        #expect(refused { $0.failureRateThreshold = 1.01 } == "breaker failure-rate threshold")
        #expect(refused { $0.failureRateThreshold = .nan } == "breaker failure-rate threshold")
        #expect(refused { $0.failureRateThreshold = 1 } == nil)
        #expect(refused { $0.minimumOutcomes = 6 } == "breaker minimum outcomes")
        #expect(refused { $0.minimumOutcomes = 0 } == "breaker minimum outcomes")
        #expect(refused { $0.waitSeconds = 0 } == "breaker wait")
        #expect(refused { $0.waitSeconds = 604_801 } == "breaker wait")
    }

    /// A breaker opened at `time` by three failures.
    func opened(at time: Int64) -> CircuitBreaker {
        var b = CircuitBreaker()
        _ = b.record(failure: true, at: time - 2, settings: settings)
        _ = b.record(failure: true, at: time - 1, settings: settings)
        _ = b.record(failure: true, at: time, settings: settings)
        return b
    }
}
