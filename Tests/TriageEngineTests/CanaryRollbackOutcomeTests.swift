import Foundation
import Testing
@testable import TriageCore
@testable import TriageEngine

/// A failed canary's rollback goes through the same queue as the policy's recommendations, but
/// the policy did not choose it: it has no symptoms, and its outcome must not be learned (it
/// would be credited to the all-normal symptom pattern, code 0).
@Suite struct CanaryRollbackOutcomeTests {
    @Test func outcomeOfASymptomlessRecommendationIsRecordedButNotLearned() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let policy = try RemediationPolicy.train([.init(symptoms: symptomsA, attempts: [(.restart, 100, true)])])
        try queue.installPolicy(policy, source: "bundle-sha", now: 1_000)
        let rollback = Recommendation(service: "svc-01", action: .rollback, confidence: 0.5, created: 500, raisedAt: 1_000,
                                      expires: 2_800, reasons: ["canary analysis: score 50.0 (fail)"],
                                      symptoms: Symptoms(features: [], levels: []))
        let id = try queue.raise(rollback).recommendation.id
        _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
        let recorded = try queue.recordOutcome(id, result: .success, recoverySeconds: 30, now: 1_200)
        #expect(recorded.recommendation.outcome == .success)
        #expect(!recorded.learned)
        let stored = try #require(try queue.policy())
        #expect(stored.outcomesLearned == 0 && stored.policy == policy)
        #expect(w.outboxLines().count == 1 && w.outboxLines()[0].contains("\"rollback\""))
    }
}
