import Hummingbird
import Testing
@testable import TriageServer

@Suite struct PageSessionStoreTests {
    @Test func theStoreNeverHoldsMoreThanItsCapacity() async throws {
        let store = PageSessionStore(capacity: 3)
        for i in 0..<10 { try await store.create(key: "s\(i)", value: "v\(i)", expires: .seconds(60 + i)) }
        #expect(await store.count == 3)
        // The sessions closest to expiry made room; the newest are kept.
        #expect(try await store.get(key: "s9", as: String.self) == "v9")
        #expect(try await store.get(key: "s0", as: String.self) == nil)
    }

    @Test func expiredSessionsAreGoneAndMakeRoomFirst() async throws {
        let store = PageSessionStore(capacity: 2)
        try await store.create(key: "old", value: "x", expires: .zero)
        #expect(try await store.get(key: "old", as: String.self) == nil)
        await store.set(key: "a", value: "a", expires: .seconds(1))
        await store.set(key: "b", value: "b", expires: .seconds(600))
        await store.set(key: "c", value: "c", expires: .seconds(600))
        #expect(await store.count == 2)
        #expect(try await store.get(key: "a", as: String.self) == nil, "the one closest to expiry made room")
        #expect(try await store.getWithTTL(key: "b", as: String.self)?.object == "b")
        await store.remove(key: "b")
        #expect(try await store.get(key: "b", as: String.self) == nil)
    }

    @Test func aSecondCreateOfALiveKeyIsRefused() async throws {
        let store = PageSessionStore()
        try await store.create(key: "k", value: 1, expires: .seconds(60))
        await #expect(throws: PersistError.self) { try await store.create(key: "k", value: 2, expires: .seconds(60)) }
        #expect(try await store.get(key: "k", as: Int.self) == 1)
    }
}
