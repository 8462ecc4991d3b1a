import Synchronization
import Testing
@testable import TriageServer

@Suite struct SignInLimiterTests {
    final class Clock: Sendable {
        let now = Mutex<Int64>(1_000)
        func advance(_ seconds: Int64) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> Int64 { { [self] in now.withLock { $0 } } }
    }

    @Test func failuresWithinTheWindowLockTheAddressUntilItPasses() {
        let clock = Clock()
        let limiter = SignInLimiter(maximumFailures: 3, window: 60, clock: clock.read)
        for _ in 0..<3 {
            #expect(limiter.retryAfter("10.0.0.1") == nil)
            limiter.failed("10.0.0.1")
        }
        #expect(limiter.retryAfter("10.0.0.1") == 60)
        #expect(limiter.retryAfter("10.0.0.2") == nil, "other addresses are not affected")
        clock.advance(45)
        #expect(limiter.retryAfter("10.0.0.1") == 15)
        clock.advance(15)
        #expect(limiter.retryAfter("10.0.0.1") == nil)
        // A new window starts with the next failure.
        limiter.failed("10.0.0.1")
        #expect(limiter.retryAfter("10.0.0.1") == nil)
    }

    @Test func aSuccessClearsTheCountAndAClockGoingBackWaitsAtMostAWindow() {
        let clock = Clock()
        let limiter = SignInLimiter(maximumFailures: 2, window: 60, clock: clock.read)
        limiter.failed("a")
        limiter.succeeded("a")
        limiter.failed("a")
        #expect(limiter.retryAfter("a") == nil)
        limiter.failed("a")
        #expect(limiter.retryAfter("a") == 60)
        clock.advance(-3_600)
        #expect(limiter.retryAfter("a") == 60)
    }

    @Test func memoryIsBoundedAndNewAddressesShareOneEntryWhenFull() {
        let clock = Clock()
        let limiter = SignInLimiter(maximumFailures: 2, window: 60, maximumAddresses: 100, clock: clock.read)
        for k in 0..<1_000 { limiter.failed("10.0.\(k / 256).\(k % 256)") }
        #expect(limiter.trackedAddresses <= 101)
        // The overflow entry collected the failures of the many: they are throttled together.
        #expect(limiter.retryAfter("192.168.0.1") != nil)
        // Once their window passed, expired entries make room again.
        clock.advance(61)
        limiter.failed("192.168.0.1")
        #expect(limiter.trackedAddresses <= 2 && limiter.retryAfter("192.168.0.1") == nil)
    }
}
