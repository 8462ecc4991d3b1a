import Foundation
import TriageCore
import TriageData

/// The events JSON-lines file written by `watch --events`, read back for `evaluate` and `report`.
/// Each line must be a JSON object with text fields `timestamp`, `service` and `type`; a line
/// that is not is an error naming the file and line.
public struct EventsFile {
    public struct Event {
        public var line: Int
        public var type: String
        public var service: String
        public var time: Int64
        public var fields: [String: Any]

        public func text(_ name: String) -> String? { fields[name] as? String }
        public func number(_ name: String) -> Double? { (fields[name] as? NSNumber).map { $0.doubleValue } }
    }

    public let path: String
    public let events: [Event]

    public static func read(_ path: String) throws -> EventsFile {
        let text = try readText(path)
        var events = [Event]()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let number = index + 1
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw DataError(.other("not a JSON object"), file: path, line: number)
            }
            func field(_ name: String) throws -> String {
                guard let value = object[name] as? String else {
                    throw DataError(.other("event has no text field '\(name)'"), file: path, line: number)
                }
                return value
            }
            let stamp = try field("timestamp")
            guard let time = Timestamp.parse(stamp) else {
                throw DataError(.other("field 'timestamp' is not a timestamp: \(JSONValue.quote(stamp))"), file: path, line: number)
            }
            events.append(Event(line: number, type: try field("type"), service: try field("service"), time: time, fields: object))
        }
        return EventsFile(path: path, events: events)
    }

    /// A timestamp field of an event, or an error naming the file and line.
    public func time(_ event: Event, _ name: String) throws -> Int64 {
        guard let text = event.text(name), let t = Timestamp.parse(text) else {
            throw DataError(.other("event has no timestamp field '\(name)'"), file: path, line: event.line)
        }
        return t
    }

    public func text(_ event: Event, _ name: String) throws -> String {
        guard let text = event.text(name) else {
            throw DataError(.other("event has no text field '\(name)'"), file: path, line: event.line)
        }
        return text
    }

    /// The usual spacing of a service's score events (median of positive gaps), if any.
    public var scoreInterval: Int64? {
        var last = [String: Int64]()
        var gaps = [Int64]()
        for e in events where e.type == "score" {
            if let previous = last[e.service], e.time > previous { gaps.append(e.time - previous) }
            last[e.service] = e.time
        }
        guard !gaps.isEmpty else { return nil }
        gaps.sort()
        return gaps[gaps.count / 2]
    }

    /// The whole file as text: a regular file of at most `limit` bytes (`MappedFile`).
    public static func readText(_ path: String, limit: Int = FileLimits.eventsBytes, what: String = "events file") throws -> String {
        try MappedFile(path: path, limit: limit, what: what).withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
