import Testing
@testable import TriageCore

@Suite struct RecurringAlarmFilterTests {
    let day = 86_400.0
    let start = 1_700_000_000.0

    @Test func recursSearchesOnePeriodBackWithinTheTolerance() {
        var filter = RecurringAlarmFilter()
        filter.remember(4, time: start)  // under the level: not remembered
        #expect(!filter.recurs(at: start + day))
        filter.remember(5, time: start + 10)
        #expect(filter.recurs(at: start + day + 10 + 1_700))
        #expect(!filter.recurs(at: start + day + 10 + 1_800))
        #expect(!filter.recurs(at: start + 10))
    }

    @Test func capsAnAlarmAtYesterdaysAlarmTimeOnly() {
        var filter = RecurringAlarmFilter()
        // Tolerance 2 % of a day = 1 728 s.
        #expect(filter.filter(6, time: start) == 6)
        #expect(filter.filter(2, time: start + 3_000) == 2)  // below the cap: unchanged
        #expect(filter.filter(6, time: start + day + 600) == 3)  // yesterday ± 10 min: capped
        #expect(filter.filter(6, time: start + day + 3_600) == 6)  // an hour off: a new alarm
        #expect(filter.filter(4, time: start + 2 * day + 600) == 3)  // above the cap, under the level: capped
    }

    @Test func onlyAlarmsAreRemembered() {
        var filter = RecurringAlarmFilter()
        #expect(filter.filter(4.9, time: start) == 4.9)  // under level 5: not an alarm
        #expect(filter.filter(6, time: start + day) == 6)
        // The capped alarm is still remembered (the pattern stays recognised the day after).
        #expect(filter.filter(7, time: start + 2 * day) == 3)
        #expect(filter.filter(7, time: start + 3 * day) == 3)
    }

    @Test func forgetsTheOldestAlarmsBeyondItsCapacity() {
        var p = RecurringAlarmFilter.Parameters()
        p.capacity = 2
        p.tolerance = 0
        var filter = RecurringAlarmFilter(parameters: p)
        for k in 0..<3 { _ = filter.filter(6, time: start + Double(k) * 100) }
        #expect(filter.filter(6, time: start + day) == 6)  // start was forgotten
        #expect(filter.filter(6, time: start + day + 200) == 3)
    }

    @Test func noPeriodsIsTheIdentityAndParametersAreChecked() throws {
        var p = RecurringAlarmFilter.Parameters()
        p.periods = []
        var filter = RecurringAlarmFilter(parameters: p)
        for k in 0..<5 { #expect(filter.filter(9, time: start + Double(k) * day) == 9) }
        var bad = RecurringAlarmFilter.Parameters()
        bad.cap = 6
        #expect(throws: EstimatorError.self) { try bad.validate() }
        var config = OnlineDetectorConfiguration()
        config.recurrence.periods = [-1]
        #expect(throws: EstimatorError.self) { try SeriesAnomalyDetector(configuration: config) }
    }

    /// A daily spike at 03:00 (5-minute data): the detector alarms on its first day, not every day
    /// after; without the filter it alarms again on later days. `growth` > 0 makes each day's spike a
    /// small new record (a range break within the range rule's tolerance), < 0 keeps it inside
    /// the range so only the calibrated evidence sees it.
    @Test(arguments: [-0.05, 0.05])
    func aDailySpikeAlarmsOnItsFirstDaysOnly(growth: Double) throws {
        func laterDayAlarms(_ configuration: OnlineDetectorConfiguration) throws -> Int {
            var random = RandomSource(seed: 7)
            var detector = try SeriesAnomalyDetector(configuration: configuration, seed: 0)
            var alarms = 0
            let perDay = 288
            for i in 0..<(10 * perDay) {
                let dayIndex = i / perDay
                let spike = i % perDay == 36 && dayIndex >= 2 ? 8 + growth * Double(dayIndex) : 0
                let v = 10 + 0.3 * random.normal() + spike
                let s = detector.process(v, time: start + Double(i) * 300)
                if dayIndex >= 4 && abs(i % perDay - 36) <= 2 && s.score >= 0.5 { alarms += 1 }
            }
            return alarms
        }
        var off = OnlineDetectorConfiguration()
        off.recurrence.periods = []
        #expect(try laterDayAlarms(off) >= 3)
        // With the forest's own score (no averaging): one day's spike reads evidence 4.85 (under
        // the alarm level): it is capped, but not remembered, so the next day alarms once again.
        var unaveraged = OnlineDetectorConfiguration()
        unaveraged.forestAveraging = 1
        #expect(try laterDayAlarms(unaveraged) <= 1)
        // Averaged over two points (the default) the spike's forest evidence is lower, so it is
        // remembered on fewer days: a growing spike alarms on 2 of the 6 later days (5 unfiltered).
        #expect(try laterDayAlarms(OnlineDetectorConfiguration()) <= 2)
    }
}
