#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The clocks a watch run reads: monotonic seconds for its cadences (a wall-clock step must not
/// trigger or delay a checkpoint), wall-clock seconds for what it stamps.
enum WatchClock {
    static func monotonic() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static var wall: Int64 { Int64(Date().timeIntervalSince1970) }
}
