#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (W3C WebDriver) against a running `triage serve`.

Called by scripts/check-approval-page.sh, which starts the server and chromedriver. Standard
library only (urllib + json): no Selenium, nothing to pip-install.

Checks, each a failure with a clear message:
  - the page has no <script>, its style sheet applies under the CSP (computed colours);
  - sign-in by typing the token and pressing Enter (keyboard);
  - approve one recommendation by clicking, with a comment: the outbox line and
    `triage approvals show ID --json` name the token's approver;
  - reject another with the keyboard only (Tab to the button, visible focus, Enter);
  - no console error or CSP violation in the browser log (and the log check itself works);
  - screenshots at laptop and phone size, the phone one without horizontal scrolling.
"""
import argparse
import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
TAB, ENTER = "\ue004", "\ue007"


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def http(method, url, body=None, headers=None, timeout=60):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if body is not None and not (headers and "Content-Type" in headers):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class WebDriver:
    """The few W3C WebDriver commands the check needs."""

    def __init__(self, url, width, height):
        self.url = url.rstrip("/")
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                # --no-sandbox: CI and this machine run as root, where Chromium's sandbox cannot start.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--hide-scrollbars", f"--window-size={width},{height}", "--lang=en-GB"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "pageLoadStrategy": "normal",
        }
        value = self.command("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, session=False)
        self.session = value["sessionId"]

    def command(self, method, path, body=None, session=True):
        url = self.url + (f"/session/{self.session}" if session else "") + path
        status, raw = http(method, url, body if body is not None or method != "POST" else {})
        payload = json.loads(raw or b"{}")
        if status != 200:
            error = payload.get("value", {})
            raise CheckFailed(f"WebDriver {method} {path}: {status} {error.get('error')}: {error.get('message', '')[:300]}")
        return payload.get("value")

    def quit(self):
        try:
            self.command("DELETE", "")
        except Exception:
            pass

    def open(self, url):
        self.command("POST", "/url", {"url": url})

    def find(self, css, within=None, required=True):
        found = self.find_all(css, within)
        if required:
            check(found, f"no element matches {css!r}")
        return found[0] if found else None

    def find_all(self, css, within=None):
        path = f"/element/{within}/elements" if within else "/elements"
        return [item[ELEMENT] for item in self.command("POST", path, {"using": "css selector", "value": css})]

    def click(self, element):
        self.command("POST", f"/element/{element}/click")

    def type(self, element, text):
        self.command("POST", f"/element/{element}/value", {"text": text})

    def text(self, element):
        return self.command("GET", f"/element/{element}/text")

    def attribute(self, element, name):
        return self.command("GET", f"/element/{element}/attribute/{name}")

    def css(self, element, name):
        return self.command("GET", f"/element/{element}/css/{name}")

    def active(self):
        return self.command("GET", "/element/active")[ELEMENT]

    def page_text(self):
        return self.text(self.find("body"))

    def wait_for_text(self, text, seconds=15):
        """Polls until the page shows `text`. A form's submission may still be loading the next
        page, so an element found on the old one can go stale between two commands: read again."""
        deadline = time.monotonic() + seconds
        body = ""
        while True:
            try:
                body = self.page_text()
            except CheckFailed as failure:
                if "stale element" not in str(failure) and "no such element" not in str(failure):
                    raise
            if text in body:
                return body
            if time.monotonic() > deadline:
                raise CheckFailed(f"the page never showed {text!r}; it shows:\n{body[:1500]}")
            time.sleep(0.2)

    def cdp(self, command, params):
        return self.command("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def execute(self, script):
        # Runs in the page through DevTools (the page's own CSP forbids scripts, which is the point).
        return self.command("POST", "/execute/sync", {"script": script, "args": []})

    def browser_log(self):
        for path in ("/se/log", "/log"):
            try:
                return self.command("POST", path, {"type": "browser"})
            except CheckFailed:
                continue
        raise CheckFailed("chromedriver returned no browser log (neither /se/log nor /log)")

    def screenshot(self, path, width, max_height):
        """The top of the page, up to max_height CSS pixels (beyond the window), through DevTools;
        the window only if that fails. A queue of twenty cards is several screens long, and the
        top shows every part of the page."""
        try:
            height = self.cdp("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
            clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1}
            data = self.cdp("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
        except (CheckFailed, KeyError):
            data = self.command("GET", "/screenshot")
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))


def run(args):
    base = args.base.rstrip("/")
    with open(args.metrics, "rb") as f:
        status, body = http("POST", base + "/v1/metrics", f.read(),
                            {"Authorization": f"Bearer {args.token}", "Content-Type": "text/csv"}, timeout=300)
    check(status == 202, f"POST /v1/metrics answered {status}: {body[:300]!r}")
    status, body = http("GET", base + "/v1/recommendations?status=pending")
    pending = json.loads(body)["recommendations"]
    check(len(pending) >= 2, f"the check needs two pending recommendations, the queue has {len(pending)}")
    print(f"check-approval-page: {len(pending)} pending recommendations after ingest")

    driver = WebDriver(args.driver, 1280, 900)
    try:
        errors = []

        def collect_log(stage):
            for entry in driver.browser_log():
                # SEVERE: console.error, failed loads, CSP violations ("Refused to …").
                if entry.get("level") in ("SEVERE", "ERROR") or "Content Security Policy" in entry.get("message", ""):
                    errors.append(f"{stage}: {entry.get('message')}")

        driver.open(base + "/")
        check(driver.find_all("script") == [], "the sign-in page contains a <script>")
        check(driver.css(driver.find("body"), "background-color") == "rgba(244, 246, 249, 1)",
              "the style sheet did not apply to the sign-in page (blocked by the CSP, or not served)")
        token_field = driver.find("#token")
        # autofocus applies once the page has loaded; give it a moment on a busy machine.
        deadline = time.monotonic() + 3
        while driver.active() != token_field and time.monotonic() < deadline:
            time.sleep(0.1)
        check(driver.active() == token_field, "the token field does not have the focus on load")
        # Keyboard: type the token and press Enter.
        driver.type(token_field, args.token + ENTER)
        driver.wait_for_text("Signed in as alice")
        collect_log("sign-in")
        check(driver.find_all("script") == [], "the approval page contains a <script>")
        check(driver.css(driver.find(".topbar"), "background-color") == "rgba(23, 33, 46, 1)",
              "the style sheet did not apply to the approval page")

        cards = driver.find_all("article.card")
        check(len(cards) >= 2, f"the page lists {len(cards)} recommendations, expected at least 2")
        first_id = driver.attribute(cards[0], "id")
        card_text = driver.text(cards[0])
        for label in ("confidence", "left", "PARAMETERS", "DETECTOR SCORES", "ALREADY TRIED", "WHY"):
            check(label in card_text, f"the card of {first_id} does not show {label!r}:\n{card_text}")

        # Approve the first one with the mouse, with a comment.
        comment = "Approved from the browser check"
        driver.type(driver.find("textarea", within=cards[0]), comment)
        driver.click(driver.find("button.approve", within=cards[0]))
        driver.wait_for_text(f"Approved {first_id}")
        collect_log("approve")

        with open(args.outbox) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        check(len(lines) == 1, f"expected one outbox line, found {len(lines)}")
        check(lines[0]["id"] == first_id and lines[0]["approved_by"] == "alice" and lines[0].get("comment") == comment,
              f"the outbox line does not name {first_id}, alice and the comment: {lines[0]}")
        shown = json.loads(subprocess.run([args.triage, "approvals", "show", first_id, "--db", args.db, "--json"],
                                          check=True, capture_output=True, text=True).stdout)
        check(shown["status"] == "approved" and shown["decided_by"] == "alice",
              f"triage approvals show {first_id}: {shown.get('status')} by {shown.get('decided_by')}, expected approved by alice")
        print(f"check-approval-page: approved {first_id} by clicking; outbox and audit name alice")

        # Reject the next one with the keyboard only: type, Tab to Approve, Tab to Reject, Enter.
        card = driver.find_all("article.card")[0]
        second_id = driver.attribute(card, "id")
        check(second_id != first_id, "the approved recommendation is still listed as pending")
        textarea = driver.find("textarea", within=card)
        driver.type(textarea, "Rejected from the keyboard" + TAB)
        check(driver.active() == driver.find("button.approve", within=card), "Tab from the comment does not reach Approve")
        driver.type(driver.active(), TAB)
        reject = driver.find("button.reject", within=card)
        check(driver.active() == reject, "Tab from Approve does not reach Reject")
        check(driver.css(reject, "outline-style") == "solid", "the focused Reject button shows no focus outline")
        driver.type(reject, ENTER)
        driver.wait_for_text(f"Rejected {second_id}")
        shown = json.loads(subprocess.run([args.triage, "approvals", "show", second_id, "--db", args.db, "--json"],
                                          check=True, capture_output=True, text=True).stdout)
        check(shown["status"] == "rejected" and shown["decided_by"] == "alice",
              f"triage approvals show {second_id}: {shown.get('status')} by {shown.get('decided_by')}, expected rejected by alice")
        print(f"check-approval-page: rejected {second_id} with the keyboard; audit names alice")
        collect_log("reject")

        driver.screenshot(args.screenshot, 1280, 1400)
        print(f"check-approval-page: saved {args.screenshot}")

        # A phone: 390×844 CSS pixels (an iPhone 12–15 class screen), at 2× to keep the PNG small.
        driver.cdp("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
        driver.open(base + "/")
        driver.wait_for_text("Signed in as alice")
        overflow = driver.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        check(overflow <= 0, f"on a 390 px wide screen the page scrolls sideways by {overflow} px")
        collect_log("phone")
        driver.screenshot(args.phone_screenshot, 390, 1500)
        print(f"check-approval-page: saved {args.phone_screenshot}")

        check(not errors, "the browser reported errors:\n  " + "\n  ".join(errors))
        # The log check itself: a page that does log an error must be seen failing.
        driver.open("data:text/html,<script>console.error('triage-log-probe')</script>")
        time.sleep(0.2)
        check(any("triage-log-probe" in e.get("message", "") for e in driver.browser_log()),
              "the browser log check saw no error from a page that logs one: the check would miss real errors")
        print("check-approval-page: no console errors or CSP violations")
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the server, e.g. http://127.0.0.1:18081")
    parser.add_argument("--driver", required=True, help="chromedriver, e.g. http://127.0.0.1:9515")
    parser.add_argument("--token", required=True)
    parser.add_argument("--metrics", required=True, help="metrics.csv to ingest (raises recommendations)")
    parser.add_argument("--db", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--triage", required=True, help="the triage binary")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--phone-screenshot", required=True)
    args = parser.parse_args()
    try:
        run(args)
    except CheckFailed as failure:
        print(f"check-approval-page: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print("check-approval-page: passed")


if __name__ == "__main__":
    main()
