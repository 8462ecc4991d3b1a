import Foundation
import Testing
@testable import TriageEngine

/// The allowlist's syntax (`NAME`, `NAME: ACCOUNT …`), its malformed lines, and which OS
/// account may act as which approver on the command line.
@Suite struct ApproversTests {
    @Test func bareNamesAndMappingsParse() throws {
        let text = "alice\n# on call\noncall: bob, carol\tdave # the rota\r\nops:erin\n\noncall: frank\nbob  # backup\n"
        let list = try Approvers.parse(text, path: "a.txt")
        #expect(list.names == ["alice", "oncall", "ops", "bob"])
        #expect(list.accounts == ["oncall": ["bob", "carol", "dave", "frank"], "ops": ["erin"]])
        #expect(list.names(forAccount: "bob") == ["bob", "oncall"])
        #expect(list.names(forAccount: "alice") == ["alice"])
        #expect(list.names(forAccount: "erin") == ["ops"])
        #expect(list.names(forAccount: "mallory").isEmpty)
        // A BOM and CRLF line ends are not part of the names.
        let windows = try Approvers.parse("\u{FEFF}alice\r\noncall: bob\r\n", path: "w.txt")
        #expect(windows.names == ["alice", "oncall"] && windows.accounts == ["oncall": ["bob"]])
        // The old one-name-per-line files read as before.
        #expect(try Approvers.parse("alice\n# on call\nbob  # backup\n", path: "b.txt").names == ["alice", "bob"])
    }

    @Test func malformedMappingLinesNameFileLineAndColumn() {
        for (text, line, column, words) in [("alice\n: bob\n", 2, 1, "no approver name"),
                                            ("alice\n\n  oncall:   # nobody yet\n", 3, 9, "no OS account after 'oncall:'"),
                                            ("ops: , ,\n", 1, 4, "no OS account")] {
            #expect {
                try Approvers.parse(text, path: "/etc/triage/approvers.txt")
            } throws: { error in
                guard case EngineError.invalidAllowlist(let path, let l, let c, let reason) = error else { return false }
                return path == "/etc/triage/approvers.txt" && l == line && c == column && reason.contains(words)
                    && "\(error)".hasPrefix("/etc/triage/approvers.txt:\(line):\(column): ")
            }
        }
    }

    @Test func loadReportsAMalformedLineOfTheFile() throws {
        let w = Workspace(approvers: "alice\noncall:\n")
        #expect {
            try Approvers.load(w.allowlist)
        } throws: { error in
            guard case EngineError.invalidAllowlist(let path, 2, 7, _) = error else { return false }
            return path == w.allowlist
        }
    }

    @Test func commandLineDecidersMustBeTheAccountOrMappedToIt() throws {
        let list = try Approvers.parse("alice\noncall: bob\nbob\ncarol: carol-admin\n", path: "a.txt")
        // Own account, listed as a name.
        try list.check(Decider.commandLine(name: "alice", account: "alice"))
        // Mapped.
        try list.check(Decider.commandLine(name: "oncall", account: "bob"))
        try list.check(Decider.commandLine(name: "carol", account: "carol-admin"))
        // An account named like an approver is that approver, even when the name also has a mapping.
        try list.check(Decider.commandLine(name: "carol", account: "carol"))
        // A listed name typed by another account: refused, saying what the account may use.
        #expect(throws: EngineError.notAllowedAs(name: "alice", account: "bob", allowed: ["bob", "oncall"], allowlist: "a.txt")) {
            try list.check(Decider.commandLine(name: "alice", account: "bob"))
        }
        #expect(throws: EngineError.notAllowedAs(name: "oncall", account: "root", allowed: [], allowlist: "a.txt")) {
            try list.check(Decider.commandLine(name: "oncall", account: "root"))
        }
        // Not an approver at all: the old error.
        #expect(throws: EngineError.notAnApprover(name: "mallory", allowlist: "a.txt")) {
            try list.check(Decider.commandLine(name: "mallory", account: "mallory"))
        }
        // Over HTTP the token's name only needs to be listed.
        try list.check(Decider.http(tokenName: "oncall"))
        #expect(throws: EngineError.notAnApprover(name: "mallory", allowlist: "a.txt")) {
            try list.check(Decider.http(tokenName: "mallory"))
        }
        let message = EngineError.notAllowedAs(name: "alice", account: "bob", allowed: ["bob", "oncall"], allowlist: "a.txt").description
        #expect(message.contains("OS account 'bob'") && message.contains("'alice'") && message.contains("'oncall'"))
        #expect(!message.contains("--"), "library errors name no CLI flag: \(message)")
    }

    @Test func osAccountComesFromTheUidNotTheEnvironment() {
        #expect(OSAccount.name(uid: 0) == "root")
        // A uid without a password-database entry is named by its number.
        #expect(OSAccount.name(uid: 3_999_999_937) == "3999999937")
        #expect(OSAccount.effective() == OSAccount.name(uid: geteuid()))
    }
}
