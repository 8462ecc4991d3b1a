import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
import TriageCore
@testable import TriageEngine
@testable import TriageServer

// The approval page at `/` (README "The approval page"), driven through the router.

@Suite struct ApprovalPageTests {
    @Test func signedOutThePageShowsOnlyTheSignInForm() async throws {
        let fixture = try PageFixture()
        try fixture.raise()
        try await fixture.test { client in
            let page = try await client.get("/")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.body.contains("<form method=\"post\" action=\"/login\""))
            #expect(page.body.contains("<label for=\"token\">"))
            #expect(!page.body.contains("checkout"), "nothing of the queue before sign-in")
            #expect(!page.body.contains("<script"))
            #expect(page.setCookie == nil, "no session before sign-in")
        }
    }

    @Test func everyPageAnswerCarriesTheSecurityHeaders() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            for page in [try await client.get("/"), try await client.post("/login", form: [("token", "wrong-token-wrong-token")]),
                         try await client.get("/static/triage.css")] {
                #expect(page.headers[.contentSecurityPolicy]
                        == "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
                #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            }
            #expect(try await client.get("/").headers[.cacheControl] == "no-store")
            let css = try await client.get("/static/triage.css")
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.body.contains(":focus-visible"))
            let api = try await client.get("/v1/recommendations")
            #expect(api.status == .ok && api.headers[.contentSecurityPolicy] == nil, "the page's middleware stays on the page's routes")
            let icon = try await client.get("/static/favicon.svg")
            #expect(icon.status == .ok && icon.headers[.contentType] == "image/svg+xml")
        }
    }

    @Test func aWrongTokenGetsTheFormAgainWith401AndNoSession() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            for token in ["not-a-token-at-all-0000", ""] {
                let page = try await client.post("/login", form: [("token", token)])
                #expect(page.status == .unauthorized)
                #expect(page.body.contains("That token is not valid"))
                #expect(page.body.contains("action=\"/login\""))
                #expect(page.setCookie == nil)
            }
        }
    }

    @Test func theFormAddressesLeadBackToThePageWhenOpenedDirectly() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            for uri in ["/login", "/logout"] {
                let page = try await client.get(uri)
                #expect(page.status == .seeOther && page.headers[.location] == "/")
            }
        }
    }

    @Test func signingInSetsAnHttpOnlySameSiteStrictCookie() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            let page = try await client.post("/login", form: [("token", PageFixture.aliceToken)])
            #expect(page.status == .seeOther && page.headers[.location] == "/")
            let cookie = try #require(page.setCookie)
            let attributes = cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            #expect(attributes.first?.hasPrefix("triage_session=") == true)
            #expect(attributes.contains("httponly"))
            #expect(attributes.contains("samesite=strict"))
            #expect(attributes.contains("path=/"))
            #expect(!cookie.contains(PageFixture.aliceToken), "the cookie is a session id, never the token")
            let signedIn = try await client.get("/", cookie: page.cookie)
            #expect(signedIn.body.contains("Signed in as <strong>alice</strong>"))
        }
    }

    @Test func theCookieIsSecureWhenTheServerIsToldBrowsersUseHTTPS() async throws {
        let fixture = try PageFixture(secureCookies: true)
        try await fixture.test { client in
            let page = try await client.post("/login", form: [("token", PageFixture.aliceToken)])
            let attributes = try #require(page.setCookie).split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            #expect(attributes.contains("secure") && attributes.contains("httponly"))
        }
        let plain = try PageFixture()
        try await plain.test { client in
            let page = try await client.post("/login", form: [("token", PageFixture.aliceToken)])
            #expect(!(try #require(page.setCookie).lowercased().contains("secure")))
        }
    }

    /// A form posted from another site is refused before anything is read: the sign-in form
    /// too (login CSRF), where no session token can protect it.
    @Test func formsPostedFromAnotherSiteAre403() async throws {
        let fixture = try PageFixture()
        let id = try fixture.raise().id
        try await fixture.test { client in
            let cookie = try await client.signIn()
            for headers: HTTPFields in [[HTTPField.Name("Sec-Fetch-Site")!: "cross-site"], [HTTPField.Name("Sec-Fetch-Site")!: "same-site"],
                                        [.origin: "https://evil.example"], [.origin: "null"]] {
                let login = try await client.post("/login", form: [("token", PageFixture.aliceToken)], headers: headers)
                #expect(login.status == .forbidden && login.setCookie == nil && login.body.contains("another site"), "\(headers)")
                let approve = try await client.post("/ui/recommendations/\(id)/approve", form: [("csrf", "x")], cookie: cookie, headers: headers)
                #expect(approve.status == .forbidden)
            }
            #expect(try fixture.queue.recommendation(id, now: TriageServer.now).status == .pending)
            let same = try await client.post("/login", form: [("token", PageFixture.aliceToken)],
                                             headers: [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"])
            #expect(same.status == .seeOther && same.setCookie != nil)
        }
    }

    /// After ten wrong tokens from one address, sign-ins from it are refused unread (429 with
    /// Retry-After), even with a right token, until the window passes.
    @Test func repeatedWrongTokensAreThrottled() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            for _ in 0..<10 {
                #expect(try await client.post("/login", form: [("token", "wrong-token-0000000000")]).status == .unauthorized)
            }
            let refused = try await client.post("/login", form: [("token", PageFixture.aliceToken)])
            #expect(refused.status == .tooManyRequests && refused.setCookie == nil && refused.body.contains("Too many sign-ins"))
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 > 0)
        }
    }

    @Test func thePendingListShowsWhatAnApproverNeeds() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let page = try await client.get("/", cookie: cookie)
            #expect(page.status == .ok)
            let body = page.body
            for text in ["checkout", "scale_up", raised.id, "87 % confidence", "replicas = 6", "latency_p99_ms 4.2× its baseline",
                         "error_rate 0.07 above its baseline", "iforest 0.734", "autoencoder 2.500", ">restart</code>",
                         "min left", "action=\"/ui/recommendations/\(raised.id)/approve\"",
                         "formaction=\"/ui/recommendations/\(raised.id)/reject\"", "name=\"comment\""] {
                #expect(body.contains(text), "missing \(text)")
            }
            #expect(page.csrf?.count == 64, "a 32-byte hex CSRF token in the forms")
            #expect(body.contains("<meta name=\"viewport\""))
            #expect(body.contains("<main"))
        }
    }

    @Test func approvingThroughTheFormWritesTheOutboxLineAndAuditUnderTheTokensName() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve",
                                               form: [("csrf", csrf), ("comment", "go ahead <b>now</b>")], cookie: cookie)
            #expect(answer.status == .seeOther && answer.headers[.location] == "/")
            let record = try fixture.queue.recommendation(raised.id, now: TriageServer.now)
            #expect(record.status == .approved && record.decidedBy == "alice" && record.decisionNote == "go ahead <b>now</b>")
            let lines = fixture.outboxLines()
            #expect(lines.count == 1)
            #expect(lines.first?.contains("\"approved_by\":\"alice\"") == true)
            #expect(lines.first?.contains(raised.id) == true)

            let after = try await client.get("/", cookie: cookie)
            #expect(after.body.contains("Approved \(raised.id) (scale_up on checkout)"))
            #expect(after.body.contains("Nothing is waiting for a decision"))
            #expect(after.body.contains("go ahead &lt;b&gt;now&lt;/b&gt;"), "the comment in recent decisions, escaped")
            let again = try await client.get("/", cookie: cookie)
            #expect(!again.body.contains("Approved \(raised.id)"), "the message is shown once")
        }
    }

    @Test func rejectingThroughTheFormRecordsTheReasonAndName() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            let answer = try await client.post("/ui/recommendations/\(raised.id)/reject",
                                               form: [("csrf", csrf), ("comment", "a deploy is running")], cookie: cookie)
            #expect(answer.status == .seeOther)
            let record = try fixture.queue.recommendation(raised.id, now: TriageServer.now)
            #expect(record.status == .rejected && record.decidedBy == "alice" && record.decisionNote == "a deploy is running")
            #expect(fixture.outboxLines().isEmpty)
            let after = try await client.get("/", cookie: cookie)
            #expect(after.body.contains("Rejected \(raised.id)"))
            #expect(after.body.contains("status-rejected"))
        }
    }

    @Test func aMissingOrWrongCSRFTokenIs403AndNothingIsDecided() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            let forged = String(csrf.dropLast()) + (csrf.last == "0" ? "1" : "0")
            for form in [[("comment", "x")], [("csrf", forged)], [("csrf", "")]] {
                for action in ["approve", "reject"] {
                    let answer = try await client.post("/ui/recommendations/\(raised.id)/\(action)", form: form, cookie: cookie)
                    #expect(answer.status == .forbidden)
                    #expect(answer.body.contains("security token did not match"))
                    #expect(answer.headers[.contentSecurityPolicy] != nil)
                }
            }
            #expect(try fixture.queue.recommendation(raised.id, now: TriageServer.now).status == .pending)
            #expect(fixture.outboxLines().isEmpty)
            // Another session's token is no good either.
            let other = try await client.signIn()
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: other)
            #expect(answer.status == .forbidden)
        }
    }

    @Test func signedOutADecisionIs401AndNothingIsDecided() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", "0")])
            #expect(answer.status == .unauthorized)
            #expect(try fixture.queue.recommendation(raised.id, now: TriageServer.now).status == .pending)
        }
    }

    @Test func dataIsEscapedNeverRun() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise(service: "<script>alert(1)</script>", reasons: ["<img src=x onerror=alert(2)>", "\"quoted\" & 'single'"],
                                       parameters: ["<b>n</b>": 1], scores: ["<i>s</i>": 0.5])
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let body = try await client.get("/", cookie: cookie).body
            #expect(!body.contains("<script"))
            #expect(!body.contains("<img"))
            #expect(!body.contains("<b>n</b>") && !body.contains("<i>s</i>"))
            #expect(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(body.contains("&lt;img src=x onerror=alert(2)&gt;"))
            #expect(body.contains("&quot;quoted&quot; &amp; &#39;single&#39;"))

            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            _ = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: cookie)
            let flash = try await client.get("/", cookie: cookie).body
            #expect(!flash.contains("<script"), "the decision message names the service, escaped")
            // An id from the URL comes back in the message, escaped too.
            _ = try await client.post("/ui/recommendations/%3Cscript%3Ex/approve", form: [("csrf", csrf)], cookie: cookie)
            let unknown = try await client.get("/", cookie: cookie).body
            #expect(!unknown.contains("<script") && unknown.contains("was not approved"))
        }
    }

    @Test func theTemplateNeverWritesDataUnescaped() throws {
        let folder = try #require(PageResources.templatesFolder())
        let template = try String(contentsOf: folder.appendingPathComponent("page.mustache"), encoding: .utf8)
        #expect(!template.contains("{{{") && !template.contains("{{&"), "triple braces and {{& write HTML unescaped")
        #expect(!template.lowercased().contains("<script"))
        #expect(!template.contains("style=\""), "inline styles would need 'unsafe-inline' in the CSP")
    }

    @Test func anUnknownOrGarbageSessionCookieIsSignedOut() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            for cookie in ["triage_session=bm90LWEtc2Vzc2lvbg==", "triage_session=", "triage_session=%%%; other=1"] {
                let page = try await client.get("/", cookie: cookie)
                #expect(page.status == .ok && page.body.contains("action=\"/login\""))
            }
        }
    }

    @Test func anExpiredRecommendationIsListedAmongDecisionsNotPending() async throws {
        let fixture = try PageFixture()
        let expired = try fixture.raise(service: "late", expiresIn: -60)
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let body = try await client.get("/", cookie: cookie).body
            #expect(body.contains("Nothing is waiting for a decision"))
            #expect(body.contains("status-expired") && body.contains(expired.id) && body.contains("by nobody (expired)"))
        }
    }

    @Test func aSignedInNonApproverReadsButCannotDecide() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn(PageFixture.bobToken)
            let page = try await client.get("/", cookie: cookie)
            #expect(page.body.contains("<strong>bob</strong> is not in the approver allowlist"))
            #expect(!page.body.contains("/approve\""), "no decision forms for a non-approver")
            let csrf = try #require(page.csrf, "the sign-out form still carries the token")
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: cookie)
            #expect(answer.status == .seeOther)
            let after = try await client.get("/", cookie: cookie)
            #expect(after.body.contains("\(raised.id) was not approved: &#39;bob&#39; is not in the approver allowlist"))
            #expect(try fixture.queue.recommendation(raised.id, now: TriageServer.now).status == .pending)
            #expect(fixture.outboxLines().isEmpty)
        }
    }

    @Test func aDecidedOrUnknownRecommendationGetsAClearMessage() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            _ = try await client.post("/ui/recommendations/\(raised.id)/reject", form: [("csrf", csrf)], cookie: cookie)
            _ = try await client.get("/", cookie: cookie)
            _ = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: cookie)
            #expect(try await client.get("/", cookie: cookie).body.contains("is rejected, not pending"))
            _ = try await client.post("/ui/recommendations/rec-999999/approve", form: [("csrf", csrf)], cookie: cookie)
            #expect(try await client.get("/", cookie: cookie).body.contains("rec-999999 was not approved"))
            #expect(fixture.outboxLines().isEmpty)
        }
    }

    @Test func aTooLongCommentDecidesNothing() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            let long = String(repeating: "é", count: TriageServer.maxCommentBytes / 2 + 1)
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf), ("comment", long)],
                                               cookie: cookie)
            #expect(answer.status == .seeOther)
            #expect(try await client.get("/", cookie: cookie).body.contains("longer than 4096 bytes"))
            #expect(try fixture.queue.recommendation(raised.id, now: TriageServer.now).status == .pending)
        }
    }

    @Test func aBodyOverTheLimitOrNotAFormIsRefusedAsAPage() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            let big = try await client.post("/login", body: "token=" + String(repeating: "a", count: ApprovalPage.formBodyLimit + 1))
            #expect(big.status == .contentTooLarge)
            #expect(big.headers[.contentType] == "text/html; charset=utf-8")
            let json = try await client.post("/login", body: "{\"token\":\"x\"}", contentType: "application/json")
            #expect(json.status == .unsupportedMediaType)
            #expect(json.headers[.contentSecurityPolicy] != nil)
        }
    }

    @Test func signingOutEndsTheSession() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            #expect(try await client.post("/logout", form: [("csrf", "nope")], cookie: cookie).status == .forbidden)
            let out = try await client.post("/logout", form: [("csrf", csrf)], cookie: cookie)
            #expect(out.status == .seeOther)
            #expect(out.setCookie?.lowercased().contains("max-age=0") == true || out.setCookie?.contains("1970") == true
                    || out.setCookie?.lowercased().contains("expires=") == true)
            let after = try await client.get("/", cookie: cookie)
            #expect(after.body.contains("action=\"/login\""), "the old cookie no longer signs in")
        }
    }

    @Test func withoutATokenFileThePageIsReadOnlyAndHasNoSignIn() async throws {
        let fixture = try PageFixture(tokens: false)
        let raised = try fixture.raise()
        try await fixture.test { client in
            let page = try await client.get("/")
            #expect(page.status == .ok)
            #expect(page.body.contains("Read-only."))
            #expect(!page.body.contains("action=\"/login\""))
            #expect(page.body.contains(raised.id), "the queue can still be read")
            #expect(!page.body.contains("/approve\""))
            #expect(try await client.post("/login", form: [("token", PageFixture.aliceToken)]).status == .unauthorized)
            #expect(try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", "x")]).status == .unauthorized)
            #expect(try fixture.queue.recommendation(raised.id, now: TriageServer.now).status == .pending)
        }
    }

    @Test func recentDecisionsAreNewestFirstAndServicesAreListed() async throws {
        let fixture = try PageFixture()
        // Expired ten minutes ago: an older entry than a decision made now.
        let older = try fixture.raise(service: "api", expiresIn: -600)
        let newer = try fixture.raise(service: "web")
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            _ = try await client.post("/ui/recommendations/\(newer.id)/reject", form: [("csrf", csrf), ("comment", "newest")],
                                      cookie: cookie)
            let body = try await client.get("/", cookie: cookie).body
            let decisions = try #require(body.range(of: "Recent decisions"))
            let first = try #require(body.range(of: "<code>\(newer.id)</code>", range: decisions.upperBound..<body.endIndex))
            let second = try #require(body.range(of: "<code>\(older.id)</code>", range: decisions.upperBound..<body.endIndex))
            #expect(first.lowerBound < second.lowerBound)
            #expect(body.contains(">newest<"))
            #expect(body.contains("Services"))
        }
    }
}

@Suite struct ApprovalPageServicesTests {
    @Test func eachServiceIsListedWithItsStateAndLastRow() async throws {
        let fixture = try PageFixture()
        try await fixture.test { client in
            let rows = """
                timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s
                2026-01-05T00:00:00Z,svc-01,30.1,54.0,38.7,0.0032,252.9,2,12.7
                2026-01-05T00:01:00Z,svc-01,30.3,54.1,38.9,0.0030,251.0,2,11.2
                """
            let ingest = try await client.client.execute(
                uri: "/v1/metrics", method: .post,
                headers: [.authorization: "Bearer \(PageFixture.aliceToken)", .contentType: "text/csv"],
                body: ByteBuffer(string: rows + "\n")) { $0.status }
            #expect(ingest == .accepted)
            let body = try await client.get("/", cookie: try await client.signIn()).body
            #expect(body.contains("<span class=\"side-name\">svc-01</span>"))
            #expect(body.contains("status-healthy") || body.contains("status-degraded") || body.contains("status-unhealthy"))
            #expect(body.contains("<time datetime=\"2026-01-05T00:01:00Z\">2026-01-05 00:01 UTC</time>"))
        }
    }
}

@Suite struct ApprovalPageUnavailableTests {
    @Test func aDeletedDatabaseIsSaidOnThePageAndADecisionIsRefused() async throws {
        let fixture = try PageFixture()
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            #expect(!(try await client.get("/", cookie: cookie).body.contains("Decisions are refused")))
            try FileManager.default.removeItem(atPath: fixture.folder + "/queue.sqlite")
            let page = try await client.get("/", cookie: cookie)
            #expect(page.body.contains("Decisions are refused right now:</strong> the database"))
            #expect(page.body.contains("was deleted"))
            _ = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: cookie)
            #expect(try await client.get("/", cookie: cookie).body.contains("\(raised.id) was not approved"))
            #expect(fixture.outboxLines().isEmpty)
        }
    }
}

@Suite struct ApprovalPageLimitTests {
    @Test func aLongQueueShowsTheNextToExpireAndSaysHowManyItLeftOut() async throws {
        let fixture = try PageFixture()
        let first = try fixture.raise(service: "a"), second = try fixture.raise(service: "b"), third = try fixture.raise(service: "c")
        let router = Router(context: TriageRequestContext.self)
        ApprovalPage(server: fixture.server, pendingShown: 2).addRoutes(to: router)
        try await Application(router: router).test(.router) { client in
            let page = PageClient(client: client)
            let body = try await page.get("/", cookie: try await page.signIn()).body
            #expect(body.contains("id=\"\(first.id)\"") && body.contains("id=\"\(second.id)\""))
            #expect(!body.contains("id=\"\(third.id)\""))
            #expect(body.contains("Pending recommendations <span class=\"count\">3</span>"))
            #expect(body.contains("1 more pending, which expire later, are not shown here"))
        }
    }
}

@Suite struct ApprovalPageFormattingTests {
    @Test func timeLeftUsesTheTwoLargestUnits() {
        #expect(ApprovalPage.timeLeft(0) == "expired")
        #expect(ApprovalPage.timeLeft(45) == "45 s")
        #expect(ApprovalPage.timeLeft(60) == "1 min")
        #expect(ApprovalPage.timeLeft(29 * 60 + 59) == "29 min")
        #expect(ApprovalPage.timeLeft(3_600 + 5 * 60) == "1 h 05 min")
        #expect(ApprovalPage.timeLeft(2 * 86_400 + 3 * 3_600 + 59) == "2 d 3 h")
    }

    @Test func confidenceIsAPercentage() {
        #expect(ApprovalPage.confidence(0.8734) == "87 %")
        #expect(ApprovalPage.confidence(1) == "100 %")
    }

    @Test func csrfTokensAre32RandomBytesInHex() {
        let a = ApprovalPage.newCSRFToken(), b = ApprovalPage.newCSRFToken()
        #expect(a.count == 64 && a.allSatisfy(\.isHexDigit))
        #expect(a != b)
        #expect(ApprovalPage.constantTimeEqual(Array(a.utf8), Array(a.utf8)))
        #expect(!ApprovalPage.constantTimeEqual(Array(a.utf8), Array(b.utf8)))
        #expect(!ApprovalPage.constantTimeEqual(Array(a.utf8), Array(a.utf8.dropLast())))
    }
}

@Suite struct ApprovalPageSetupTests {
    @Test func withoutItsTemplatesThePageAnswers503WithTheReasonAndOtherRoutesStillWork() async throws {
        let fixture = try PageFixture()
        // The page as in a server whose resource folder was not deployed.
        let bare = Router(context: TriageRequestContext.self)
        ApprovalPage(server: fixture.server, resources: .failure(PageSetupError("templates are missing"))).addRoutes(to: bare)
        bare.get("/healthz") { _, _ in "ok" }
        try await Application(router: bare).test(.router) { client in
            for uri in ["/", "/static/triage.css"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(String(buffer: response.body) == "templates are missing\n")
                    #expect(response.headers[.contentSecurityPolicy] != nil)
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
