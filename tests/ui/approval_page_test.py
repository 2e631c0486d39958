#!/usr/bin/python3
"""Browser tests of the approval page (/ui/), in headless Chromium.

Run by tests/integration/ui_browser_itest.cpp, which starts the real server
and PostgreSQL, produces two pending escalations from breaching telemetry
and passes everything through the environment:

  BACKSTOP_URL             http://127.0.0.1:PORT
  BACKSTOP_SCREENSHOT_DIR  where the screenshots go (build/ui-screenshots)
  TOKEN_DEPLOYER, TOKEN_ALICE, TOKEN_BOB, TOKEN_ADMIN
  ESCALATION_PAYMENTS      pending; alice is the release's triggered_by
  ESCALATION_SEARCH        pending; superseded by this script mid-test
  RELEASE_PAYMENTS, RELEASE_SEARCH

Prints one line per step ("ok - ..." / "not ok - ...") and exits 0 only when
every step passed. A missing browser, driver or Selenium is a failure. Every
wait is explicit and bounded; there are no fixed sleeps.
"""

import base64
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 20          # longest wait for one condition (the page polls every 5 s)

URL = os.environ["BACKSTOP_URL"]
SHOTS = os.environ["BACKSTOP_SCREENSHOT_DIR"]
TOKENS = {name: os.environ["TOKEN_" + name.upper()] for name in ("deployer", "alice", "bob", "admin")}
PAY = os.environ["ESCALATION_PAYMENTS"]
SEARCH = os.environ["ESCALATION_SEARCH"]
REL_PAY = os.environ["RELEASE_PAYMENTS"]
REL_SEARCH = os.environ["RELEASE_SEARCH"]


class StepFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise StepFailed(message)


def rest(method, path, token, body=None):
    """One REST call; returns (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def start_browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
                "--window-size=1280,1000", "--user-data-dir=" + profile):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_path=os.devnull), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(15)
    return driver


class Page:
    """The page under test, with bounded waits."""

    def __init__(self, driver):
        self.d = driver
        self.console = []

    def wait(self, condition, what, timeout=WAIT_S):
        try:
            # The page re-renders as answers arrive: an element found just
            # before a render is stale by the time it is asked about, and the
            # next poll finds its replacement.
            return WebDriverWait(self.d, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition())
        except TimeoutException:
            raise StepFailed(f"timed out after {timeout}s waiting for {what}")

    def settled(self, read, attempts=5):
        """Runs read(); if the page re-rendered what it was reading (a stale
        element), reads again from the start, a few times at most."""
        for attempt in range(attempts):
            try:
                return read()
            except StaleElementReferenceException:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1)

    def find(self, css, root=None):
        return (root or self.d).find_elements(By.CSS_SELECTOR, css)

    def one(self, css, what=None, timeout=WAIT_S):
        def present():
            found = [e for e in self.find(css) if e.is_displayed()]
            return found[0] if found else None
        return self.wait(present, what or css, timeout)

    def text_of(self, css):
        found = self.find(css)
        return found[0].get_attribute("textContent") if found else ""

    def wait_text(self, css, pattern, what, timeout=WAIT_S):
        regex = re.compile(pattern)
        return self.wait(lambda: regex.search(self.text_of(css) or ""), what, timeout)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def go(self, fragment):
        self.js("location.hash = arguments[0]", fragment)

    def sign_in(self, who):
        field = self.one("#token", "the token prompt")
        field.clear()
        field.send_keys(TOKENS[who])
        field.send_keys(Keys.ENTER)  # the keyboard submits the form
        self.wait(lambda: not self.find("#signin")[0].is_displayed(), f"{who} to be signed in")

    def sign_out(self):
        self.one("#sign-out").click()
        self.one("#token", "the token prompt after signing out")

    def pull_console(self):
        self.console.extend(self.d.get_log("browser"))

    def screenshot(self, name, full_page=True, max_height=4000):
        """Saves build/ui-screenshots/NAME: the whole page (up to max_height
        CSS pixels) through the DevTools protocol, or the viewport."""
        path = os.path.join(SHOTS, name)
        if full_page:
            metrics = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            # Capturing beyond the viewport drops the scroll bar, so the page
            # lays out at the full inner width: clip to that, not to the
            # content width measured with the scroll bar.
            width = max(size["width"], self.js("return window.innerWidth"))
            clip = {"x": 0, "y": 0, "width": width, "height": min(size["height"], max_height), "scale": 1}
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot",
                                          {"format": "png", "captureBeyondViewport": True, "clip": clip})
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        else:
            check(self.d.save_screenshot(path), f"could not save {path}")
        return path

    def no_injection(self):
        """Markup from the API never became elements or ran."""
        check(self.js("return typeof window.__xss") == "undefined",
              f"injected script ran: window.__xss = {self.js('return window.__xss')!r}")
        check(not self.find("img"), "an <img> element was injected")
        check(len(self.find("script")) == 1, "a <script> element was injected")
        check(not self.find("main b"), "a <b> element was injected")


def escalation(page, eid):
    return page.one(f'[data-testid="escalation-{eid}"]', f"escalation {eid}")


# ---- steps ------------------------------------------------------------------

def step_token_prompt_refuses_a_bad_token(p):
    p.d.get(URL + "/ui/")
    field = p.one("#token", "the token prompt")
    check(field.get_attribute("type") == "password", "the token field is not a password field")
    label = p.find('label[for="token"]')
    check(label and label[0].text.strip() == "Token", "the token field has no label 'Token'")
    check(p.js("return document.activeElement.id") == "token", "the token field does not have the focus")
    field.send_keys("not-a-real-token")
    field.send_keys(Keys.ENTER)
    p.wait_text('[data-testid="signin-message"]', r"refused", "the refusal of a bad token")
    check(p.one("#token").is_displayed(), "the prompt went away after a bad token")
    check(p.js("return sessionStorage.length") == 0, "a refused token was kept")


def step_alice_signs_in_and_sees_the_queue(p):
    p.sign_in("alice")
    row = escalation(p, PAY)
    escalation(p, SEARCH)
    check(p.js("return sessionStorage.getItem('backstop.token')") == TOKENS["alice"], "the token is not in sessionStorage")
    check(TOKENS["alice"] not in p.d.current_url, "the token is in the URL")
    check(p.js("return document.cookie") == "", "the page set a cookie")
    check(p.js("return localStorage.length") == 0, "the page wrote localStorage")
    text = row.text
    for expected in ("payments · prod", "v2 → v1", "PENDING", "0 of 1 approvals received",
                     "This release class needs a human to approve any rollback",
                     "A critical signal breached its bound or its baseline for long enough to count"):
        check(expected in text, f"the queue row lacks {expected!r}: {text!r}")
    countdown = row.find_element(By.CSS_SELECTOR, ".countdown")
    first = countdown.text
    check(re.match(r"expires in 1h 5\dm \d\ds$", first), f"unexpected countdown {first!r}")
    p.wait(lambda: countdown.text != first, "the countdown to tick", timeout=5)
    p.wait_text('[data-testid="last-updated"]', r"^Last updated \S", "the last-updated line")


def step_queue_screenshot(p):
    p.screenshot("queue.png")


def check_charts(p):
    """The 5xx chart from each source: its series, values, p-value and breach."""
    for source in ("default", "prom"):
        fig = p.find(f'figure[data-signal="http_5xx_ratio"][data-source="{source}"]')
        check(fig, f"no chart for http_5xx_ratio from {source}")
        series = {}
        for name in ("canary", "baseline", "bound", "bad-zone"):
            found = fig[0].find_elements(By.CSS_SELECTOR, f'svg [data-series="{name}"]')
            check(found, f"the {source} chart has no {name} series")
            series[name] = found[0].get_attribute("data-value")
        canary, baseline, bound = (float(series[k]) for k in ("canary", "baseline", "bound"))
        check(canary > bound > baseline, f"unexpected values canary={canary} bound={bound} baseline={baseline}")
        p_text = fig[0].find_element(By.CSS_SELECTOR, '[data-testid="p-value"]').text
        check(re.search(r"Mann-Whitney U test, canary larger than baseline: p = [0-9.e-]+", p_text),
              f"no p-value: {p_text!r}")
        check("BREACH" in fig[0].text, "the chart does not name the breach")


def step_escalation_page_shows_the_evidence(p):
    link = escalation(p, PAY).find_element(By.CSS_SELECTOR, "h2 a")
    link.send_keys(Keys.ENTER)  # keyboard navigation
    p.wait(lambda: p.d.current_url.endswith(f"#/escalations/{PAY}"), "the escalation's address")
    # The queue's card for this escalation stays until the page is drawn:
    # wait for what only the escalation page has before holding its article.
    p.one(f'[data-testid="escalation-{PAY}"] figure[data-signal="http_5xx_ratio"] svg', "the first chart")
    article = escalation(p, PAY)
    p.settled(lambda: check_charts(p))
    check(p.find('figure[data-signal="latency_p99_ms"] svg [data-series="bound"]'), "no latency chart")
    text = article.text
    for expected in ("Roll back payments in prod from v2 to v1",
                     "No conflict: the signals agree with each other.",
                     "escalated to a human", "escalation.opened", "release.registered",
                     "0 of 1 approvals received"):
        check(expected in text, f"the escalation page lacks {expected!r}")
    approve = article.find_element(By.CSS_SELECTOR, 'button[data-testid="approve"]')
    reject = article.find_element(By.CSS_SELECTOR, 'button[data-testid="reject"]')
    check(approve.text.startswith("Approve"), f"approve button text {approve.text!r}")
    check(reject.text.startswith("Reject"), f"reject button text {reject.text!r}")
    check(article.find_elements(By.CSS_SELECTOR, 'textarea[data-testid="comment"]'), "no comment field")


def step_markup_in_free_text_renders_as_text(p):
    metadata = p.text_of('[data-testid="metadata"]')
    check("<script>window.__xss='metadata'</script>" in metadata, f"metadata not shown as text: {metadata!r}")
    check("<img src=x onerror=" in metadata, "the img markup is not shown as text")
    # The audit entry of the registration carries the same text, collapsed.
    audit = p.text_of('[data-testid="audit"]')
    check("release.registered" in audit, "no registration in the audit entries")
    p.no_injection()


def step_escalation_screenshot(p):
    p.screenshot("escalation.png")
    chart = p.one('figure[data-signal="http_5xx_ratio"][data-source="default"]', "the first chart")
    p.js("arguments[0].scrollIntoView()", chart)
    check(chart.screenshot(os.path.join(SHOTS, "escalation-chart.png")), "could not save the chart")


def step_approving_ones_own_release_is_refused(p):
    article = escalation(p, PAY)
    article.find_element(By.CSS_SELECTOR, '[data-testid="approve"]').click()
    p.wait(lambda: p.find('[data-testid="decision-message"][data-outcome="refused"]'), "the refusal")
    message = p.text_of('[data-testid="decision-message"]')
    check("separation_of_duties" in message and "HTTP 403" in message, f"unexpected message {message!r}")
    check("someone else has to decide" in message, f"the refusal is not explained: {message!r}")
    status, body = rest("GET", f"/v1/escalations/{PAY}", TOKENS["admin"])
    check(body["escalation"]["state"] == "pending" and not body["escalation"]["approvals"], "alice's approval counted")


def step_reject_without_a_comment_is_refused_in_the_page(p):
    article = escalation(p, PAY)
    comment = article.find_element(By.CSS_SELECTOR, '[data-testid="comment"]')
    comment.clear()
    comment.send_keys("   ")
    sent_before = p.js("return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/reject')).length")
    article.find_element(By.CSS_SELECTOR, '[data-testid="reject"]').click()
    p.wait(lambda: p.find('[data-testid="decision-message"][data-outcome="invalid"]'), "the in-page refusal")
    message = p.text_of('[data-testid="decision-message"]')
    check("comment is required to reject" in message, f"unexpected message {message!r}")
    check(comment.get_attribute("aria-invalid") == "true", "the comment field is not marked invalid")
    check(p.js("return document.activeElement.getAttribute('data-testid')") == "comment", "focus not on the comment")
    sent_after = p.js("return performance.getEntriesByType('resource').filter(e => e.name.endsWith('/reject')).length")
    check(sent_after == sent_before == 0, "a reject request was sent without a comment")
    status, body = rest("GET", f"/v1/escalations/{PAY}", TOKENS["admin"])
    check(body["escalation"]["state"] == "pending", "the escalation changed")


def step_sign_out_clears_the_token(p):
    p.sign_out()
    check(p.js("return sessionStorage.getItem('backstop.token')") is None, "the token survived signing out")
    check(not p.find('[data-testid^="escalation-"]'), "data still shown after signing out")


def step_bob_opens_a_link_and_approves_with_the_keyboard(p):
    # A link as sent by Slack or PagerDuty: the prompt, then the escalation.
    p.d.get(URL + f"/ui/#/escalations/{PAY}")
    p.sign_in("bob")
    article = escalation(p, PAY)
    comment = p.one(f'[data-testid="escalation-{PAY}"] [data-testid="comment"]', "the comment field")
    comment.click()
    comment.send_keys("Checked the dashboards. <b>bold</b><img src=x onerror=\"window.__xss='comment'\">")
    comment.send_keys(Keys.TAB)  # Tab reaches the approve button next
    focused = p.js("return document.activeElement.getAttribute('data-testid')")
    check(focused == "approve", f"Tab from the comment went to {focused!r}, not the approve button")
    p.d.switch_to.active_element.send_keys(Keys.ENTER)
    p.wait(lambda: p.find('[data-testid="decision-message"][data-outcome="done"]'), "the approval to be recorded")
    message = p.text_of('[data-testid="decision-message"]')
    check(message.startswith("Approved (1 of 1)"), f"unexpected message {message!r}")
    p.wait_text(f'[data-testid="escalation-{PAY}"] [data-testid="approvals"]', r"^1 of 1 approvals received",
                "the approval in the page")
    p.wait(lambda: "<b>bold</b><img src=x" in (p.text_of(".approvals") or ""), "the comment shown as text")
    p.no_injection()
    deadline = time.monotonic() + WAIT_S
    status = None
    while time.monotonic() < deadline:
        _, body = rest("GET", f"/v1/releases/{REL_PAY}", TOKENS["admin"])
        status = body["release"]["status"]
        if status != "escalated":
            break
        time.sleep(0.1)
    check(status == "rolling_back", f"the release is {status!r}, not rolling_back")


def step_release_page_shows_the_action_attempts_and_last_error(p):
    p.go(f"#/releases/{REL_PAY}")
    p.one(f'[data-testid="release-{REL_PAY}"] [data-testid="actions"]', "the actions table")
    p.wait(lambda: int(p.text_of('[data-testid="attempts"]') or 0) >= 1, "an attempt on the release page")
    p.wait_text('[data-testid="last-error"]', r"503", "the last error on the release page")
    p.wait_text(f'[data-testid="release-{REL_PAY}"] .state-line', r"rolling back", "the release status")
    check(p.find('figure[data-signal="http_5xx_ratio"] svg [data-series="canary"]'), "no live evaluation chart")
    check("approval by bob" in p.text_of('[data-testid="actions"]'), "the action does not name its approver")
    p.no_injection()
    p.screenshot("release.png")


def step_a_superseded_escalation_refuses_approval(p):
    p.go(f"#/escalations/{SEARCH}")
    approve = p.one(f'[data-testid="escalation-{SEARCH}"] [data-testid="approve"]', "the approve button")
    # While the page is open, CI deploys the next version of search.
    status, body = rest("POST", "/v1/deployments", TOKENS["deployer"], {
        "id": REL_SEARCH + "-next", "service": "search", "environment": "prod", "version": "v8",
        "previous_version": "v7", "release_class": "ui-approval", "traffic_percent": 10})
    check(status == 201, f"the superseding deployment answered {status}: {body}")
    approve.click()
    p.wait(lambda: p.find('[data-testid="decision-message"][data-outcome="refused"]'), "the refusal")
    message = p.text_of('[data-testid="decision-message"]')
    check("superseded" in message and "HTTP 409" in message, f"unexpected message {message!r}")
    check("can no longer be approved" in message, f"the refusal is not explained: {message!r}")
    p.wait_text('[data-testid="state-notice"]', r"superseded", "the notice that the escalation is superseded")


def step_queue_filters(p):
    p.go("#/escalations?state=all&service=search")
    # li: a queue row, not the escalation page being left.
    row = p.one(f'li[data-testid="escalation-{SEARCH}"]', "the search escalation under the filter")
    check(not p.find(f'[data-testid="escalation-{PAY}"]'), "payments is not filtered out")
    check(Select(p.one("#filter-state")).first_selected_option.get_attribute("value") == "all", "filter not kept")
    check(p.one("#filter-service").get_attribute("value") == "search", "service filter not kept")
    check("SUPERSEDED" in row.text, "the state is not shown")


def step_mode_is_for_admins_and_shows_a_banner(p):
    p.go("#/mode")
    p.one("#mode-freeze").click()
    reason = p.one("#mode-reason")
    reason.send_keys("incident 42")
    p.one(".mode-form button[type=submit]").click()
    p.wait(lambda: p.find('[data-testid="mode-message"][data-outcome="refused"]'), "bob's refusal")
    message = p.text_of('[data-testid="mode-message"]')
    check("forbidden" in message and "HTTP 403" in message, f"unexpected message {message!r}")
    check(not p.find("#mode-banner:not([hidden])"), "a mode banner while the mode is normal")
    p.sign_out()
    p.sign_in("admin")
    p.go("#/mode")
    p.one("#mode-freeze").click()
    p.one(".mode-form button[type=submit]").click()
    p.wait(lambda: p.find('[data-testid="mode-message"][data-outcome="invalid"]'), "the missing reason refused")
    p.one("#mode-reason").send_keys("incident 42: payments is on fire")
    p.one(".mode-form button[type=submit]").click()
    p.wait(lambda: p.find('[data-testid="mode-message"][data-outcome="done"]'), "the mode change")
    banner = p.one('[data-testid="mode-banner"]', "the mode banner")
    check("Mode: freeze." in banner.text, f"unexpected banner {banner.text!r}")
    for fragment, marker in ((f"#/releases/{REL_PAY}", f'[data-testid="release-{REL_PAY}"] .state-line'),
                             ("#/escalations", "#filter-state")):
        p.go(fragment)
        p.one(marker, f"the page {fragment}")
        check(p.one('[data-testid="mode-banner"]').is_displayed(), f"no banner on {fragment}")
    p.wait_text('[data-testid="last-updated"]', r"^Last updated", "the queue to load")
    p.screenshot("mode-freeze.png", full_page=False)
    _, body = rest("GET", "/v1/audit?limit=20", TOKENS["admin"])
    reasons = [e["payload"].get("reason") for e in body["entries"] if e["kind"] == "mode.changed"]
    check("incident 42: payments is on fire" in reasons, f"the reason was not audited: {reasons}")


OVERFLOWING_ELEMENTS = """
const limit = document.documentElement.clientWidth;
const out = [];
for (const el of document.querySelectorAll('body *')) {
  if (el.parentElement && el.parentElement.closest('.table-wrap')) continue;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > limit + 0.5) {
    out.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} right=${Math.round(r.right)} > ${limit}`);
  }
}
return out.slice(0, 10);
"""


def step_readable_at_200_percent_zoom(p):
    # 200% zoom of a 1280 px wide window: a 640 CSS px viewport at twice the density.
    p.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 640, "height": 1000, "deviceScaleFactor": 2, "mobile": False})
    try:
        p.go(f"#/escalations/{PAY}")
        p.one(f'[data-testid="escalation-{PAY}"] figure svg [data-series="canary"]', "the chart at 200%")
        overflow = p.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 0, f"the page scrolls sideways by {overflow}px at 200% zoom")
        # Nothing sticks out of the viewport either (tables scroll in their own region).
        sticking_out = p.js(OVERFLOWING_ELEMENTS)
        check(not sticking_out, f"wider than the viewport at 200% zoom: {sticking_out}")
        # The top of the page (facts, decision, reasons, charts); the audit
        # list below grows with every retried attempt.
        p.screenshot("escalation-zoom200.png", max_height=2400)
    finally:
        p.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def step_a_401_returns_to_the_prompt(p):
    p.go(f"#/releases/{REL_SEARCH}")
    p.one(f'[data-testid="release-{REL_SEARCH}"] .state-line', "the search release")
    # The token is revoked or replaced behind the page's back: the next
    # poll gets a 401 and the page asks for a token again.
    p.js("sessionStorage.setItem('backstop.token', 'revoked-token')")
    p.one("#token", "the token prompt after a 401", timeout=15)
    p.wait_text('[data-testid="signin-message"]', r"refused", "the reason for the prompt")
    check(p.js("return sessionStorage.getItem('backstop.token')") is None, "the refused token was kept")


def step_no_content_security_policy_violation(p):
    p.pull_console()
    csp = [e["message"] for e in p.console if "Content Security Policy" in e.get("message", "")]
    check(not csp, f"CSP violations: {csp}")
    errors = [e["message"] for e in p.console
              if e.get("level") == "SEVERE" and "Failed to load resource" not in e.get("message", "")]
    check(not errors, f"script errors in the console: {errors}")


STEPS = [
    step_token_prompt_refuses_a_bad_token,
    step_alice_signs_in_and_sees_the_queue,
    step_queue_screenshot,
    step_escalation_page_shows_the_evidence,
    step_markup_in_free_text_renders_as_text,
    step_escalation_screenshot,
    step_approving_ones_own_release_is_refused,
    step_reject_without_a_comment_is_refused_in_the_page,
    step_sign_out_clears_the_token,
    step_bob_opens_a_link_and_approves_with_the_keyboard,
    step_release_page_shows_the_action_attempts_and_last_error,
    step_a_superseded_escalation_refuses_approval,
    step_queue_filters,
    step_mode_is_for_admins_and_shows_a_banner,
    step_readable_at_200_percent_zoom,
    step_a_401_returns_to_the_prompt,
    step_no_content_security_policy_violation,
]


def main():
    os.makedirs(SHOTS, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="backstop-ui-chromium-")
    driver = None
    started = time.monotonic()
    try:
        driver = start_browser(profile)
        page = Page(driver)
        for step in STEPS:
            name = step.__name__[len("step_"):]
            t0 = time.monotonic()
            try:
                step(page)
                page.pull_console()
            except Exception as e:  # one failure ends the run, with evidence
                print(f"not ok - {name}: {e}", flush=True)
                if not isinstance(e, StepFailed):
                    traceback.print_exc()
                try:
                    driver.save_screenshot(os.path.join(SHOTS, "failure.png"))
                    with open(os.path.join(SHOTS, "failure.html"), "w") as f:
                        f.write(driver.page_source)
                    print(f"# failure screenshot and page source in {SHOTS}", flush=True)
                except Exception:
                    pass
                for entry in page.console[-20:]:
                    print(f"# console: {entry.get('level')} {entry.get('message')}", flush=True)
                return 1
            print(f"ok - {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        print(f"# {len(STEPS)} steps passed in {time.monotonic() - started:.1f}s", flush=True)
        return 0
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
