/// Who made a decision, and how they proved it: what the audit trail records beside the name.
///
/// The name is the approver the allowlist knows; the channel says which front door vouched for
/// it. On the command line that is the OS account running the command (from the effective uid,
/// never from `$USER`, which the caller controls), so a name given by hand can be checked against
/// the account it was typed from (`Approvers.check(_:)`). Over HTTP the approver *is* the token's
/// name, so the token's name is the whole proof.
public struct Decider: Sendable, Equatable {
    /// The front door a decision came through, as stored in `decided_channel`.
    public enum Channel: String, Codable, Sendable, CaseIterable {
        case cli, http
    }

    /// The approver name recorded in `decided_by`.
    public let name: String
    public let channel: Channel
    /// Stored in `decided_account`: the OS account on the command line, the token's name over
    /// HTTP (the identity that authenticated, in both cases).
    public let account: String

    /// A decision typed on the command line as `name` by the OS account `account`.
    public static func commandLine(name: String, account: String) -> Decider {
        Decider(name: name, channel: .cli, account: account)
    }

    /// A decision made over HTTP with the token named `tokenName`: the approver is the token's name.
    public static func http(tokenName: String) -> Decider {
        Decider(name: tokenName, channel: .http, account: tokenName)
    }

    private init(name: String, channel: Channel, account: String) {
        self.name = name
        self.channel = channel
        self.account = account
    }
}
