"""The MLflow web UI in a real browser (Debian's chromium, headless, driven by Playwright) through
the stack's public URL: nginx, TLS verified against the stack's CA, basic auth.

    browser_check.py --url https://NAME --resolve IP --ca CA --user USER --password-file FILE
        --out DIR --experiment-id ID --experiment-name NAME --run-id ID --run-name NAME
        --metric KEY --artifact PATH --artifact-text TEXT

Opens, each in a fresh tab, and waits for real content in it:
  1. the experiment list (the experiment's name);
  2. the experiment's training runs (the run's name);
  3. the run (its ID and the metric's name);
  4. the run's model metrics chart (a drawn plotly line, the legend "<run> (<metric>)");
  5. the artifact preview of a text artifact (its text).
Every tab records requests that failed (connection, TLS, aborted), responses with status 400 or more
from the stack's origin, requests to any other origin (there is none to reach here: an on-premises
UI must not need one) and console errors and uncaught page errors. Exits 1 listing all of them, or
naming the view whose content did not appear; a screenshot of every view is written to --out.

Name and trust: the browser uses the public name, which is not in any DNS here: chromium's
--host-resolver-rules maps exactly that name to --resolve (every other name resolves to nothing, so
the browser reaches no other host). The certificate is verified as a user's browser would: the
stack's CA (--ca) is added as a trusted root to an NSS database in a throwaway HOME (chromium on
Linux reads its user-added roots from ~/.pki/nssdb; certutil comes with libnss3-tools), so the chain
and the name mlflow.molecule.test in the certificate are checked; certificate errors are not ignored.
The password is read from --password-file and given to the browser for the stack's origin only.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
SETTLE_MS = 2000

# The one error response the stack answers by design, not a fault of the proxy: the UI asks
# MLflow's basic-auth app for the current user; this stack does basic auth in nginx and does not run
# that app, so MLflow answers 404 and the UI goes on without a user name. Chromium logs a console
# error for it ("Failed to load resource"), tied to the same URL.
EXPECTED = {("GET", "/ajax-api/2.0/mlflow/users/current", 404)}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the public URL, https://<mlflow_stack_public_name>")
    parser.add_argument("--resolve", required=True, help="the proxy's IP address the public name maps to")
    parser.add_argument("--ca", required=True, help="the stack's CA certificate (PEM)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--out", required=True, help="directory for the screenshots")
    parser.add_argument("--experiment-id", required=True)
    parser.add_argument("--experiment-name", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--run-name", required=True)
    parser.add_argument("--metric", required=True, help="a metric of the run logged over several steps")
    parser.add_argument("--artifact", required=True, help="a small text artifact of the run")
    parser.add_argument("--artifact-text", required=True, help="text the artifact preview must show")
    parser.add_argument("--timeout", type=float, default=30, help="seconds for each view's content")
    return parser.parse_args()


def nss_home(ca):
    """A throwaway HOME whose NSS database trusts the stack's CA as a root for TLS servers."""
    certutil = shutil.which("certutil")
    if not certutil:
        sys.exit("browser check: certutil not found (Debian package libnss3-tools)")
    home = tempfile.mkdtemp(prefix="browser-check-")
    nssdb = "sql:" + os.path.join(home, ".pki", "nssdb")
    os.makedirs(os.path.join(home, ".pki", "nssdb"))
    subprocess.run([certutil, "-N", "-d", nssdb, "--empty-password"], check=True)
    subprocess.run([certutil, "-A", "-d", nssdb, "-n", "onprem-mlflow-ca", "-t", "C,,", "-i", ca], check=True)
    return home


class Missing(Exception):
    """A view's content did not appear."""


class Recorder:
    """What went wrong in one tab, as lines of text."""

    def __init__(self, origin, view):
        self.origin = origin
        self.view = view
        self.active = True
        self.problems = []

    def add(self, text):
        if self.active:
            self.problems.append("%s: %s" % (self.view, text))

    def expected(self, method, url, status):
        parts = urlsplit(url)
        return "%s://%s" % (parts.scheme, parts.netloc) == self.origin and (method, parts.path, status) in EXPECTED

    def on_request(self, request):
        if request.url.startswith(("data:", "blob:")):
            return
        parts = urlsplit(request.url)
        if "%s://%s" % (parts.scheme, parts.netloc) != self.origin:
            self.add("request to another origin: %s %s" % (request.method, request.url))

    def on_request_failed(self, request):
        self.add("request failed: %s %s (%s)" % (request.method, request.url, request.failure))

    def on_response(self, response):
        request = response.request
        if (
            response.status >= 400
            and request.url.startswith(self.origin + "/")
            and not self.expected(request.method, request.url, response.status)
        ):
            self.add("HTTP %d: %s %s" % (response.status, request.method, request.url))

    def on_console(self, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        # Chromium's own line for an error response: the response itself was judged above.
        if message.text.startswith("Failed to load resource") and any(
            self.expected(method, url, status) for method, _path, status in EXPECTED
        ):
            return
        self.add("console error: %s (%s)" % (message.text, url or "no location"))

    def on_page_error(self, error):
        self.add("page error: %s" % error)


def open_view(context, args, number, name, path, wait_for):
    """Loads one view in a fresh tab, waits for its content, screenshots it; returns its problems."""
    recorder = Recorder(args.url, name)
    page = context.new_page()
    page.on("request", recorder.on_request)
    page.on("requestfailed", recorder.on_request_failed)
    page.on("response", recorder.on_response)
    page.on("console", recorder.on_console)
    page.on("pageerror", recorder.on_page_error)
    started = time.monotonic()
    content = None
    try:
        page.goto(args.url + path, wait_until="load")
        wait_for(page)
        content = time.monotonic() - started
        # The view's follow-up requests get time to answer (or fail) while recorded. The UI polls
        # (run lists, metrics), so the network never goes idle: a fixed settle time instead.
        page.wait_for_timeout(SETTLE_MS)
    except Missing as missing:
        recorder.add("content did not appear: %s" % missing)
    except PlaywrightError as error:
        recorder.add("view did not load: %s" % str(error).splitlines()[0])
    finally:
        shot = os.path.join(args.out, "%d-%s.png" % (number, name))
        try:
            page.screenshot(path=shot, full_page=True)
        except PlaywrightError as error:
            recorder.add("no screenshot: %s" % error)
        # Closing the tab aborts what it still has in flight: not a failure of the stack.
        recorder.active = False
        page.close()
    print("%-11s content %s, done %4.1fs: %s" % (
        name, "after %4.1fs" % content if content is not None else "missing", time.monotonic() - started,
        "ok" if not recorder.problems else "FAILED"))
    return recorder.problems


def visible_text(text, timeout):
    def wait(page):
        try:
            page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout)
        except PlaywrightError as error:
            raise Missing("no visible text %r (%s)" % (text, str(error).splitlines()[0])) from error

    return wait


def all_of(*waits):
    def wait(page):
        for each in waits:
            each(page)

    return wait


def drawn_chart(timeout):
    """A plotly chart with a drawn line (an SVG path with points), not an empty frame."""

    def wait(page):
        try:
            page.wait_for_function(
                """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]
                         .some(p => /^M[\\d.,-]+L/.test(p.getAttribute('d') || ''))""",
                timeout=timeout,
            )
        except PlaywrightError as error:
            raise Missing("no drawn metric chart (%s)" % str(error).splitlines()[0]) from error

    return wait


def main():
    args = parse_args()
    args.url = args.url.rstrip("/")
    host = urlsplit(args.url).hostname
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+", args.url):
        sys.exit("browser check: --url must be https://<name> (no port, no path): %s" % args.url)
    with open(args.password_file) as handle:
        password = handle.read().strip()
    os.makedirs(args.out, exist_ok=True)
    timeout = args.timeout * 1000
    eid, rid = args.experiment_id, args.run_id
    views = [
        ("experiments", "/#/experiments", visible_text(args.experiment_name, timeout)),
        ("experiment", "/#/experiments/%s/runs" % eid, visible_text(args.run_name, timeout)),
        ("run", "/#/experiments/%s/runs/%s" % (eid, rid), all_of(
            visible_text(rid, timeout), visible_text(args.metric, timeout))),
        ("metrics", "/#/experiments/%s/runs/%s/model-metrics" % (eid, rid), all_of(
            drawn_chart(timeout), visible_text("%s (%s)" % (args.run_name, args.metric), timeout))),
        ("artifact", "/#/experiments/%s/runs/%s/artifacts/%s" % (eid, rid, args.artifact),
         visible_text(args.artifact_text, timeout)),
    ]
    home = nss_home(args.ca)
    chromium_args = [
        # Exactly the public name resolves, to the proxy; nothing else resolves.
        "--host-resolver-rules=MAP %s %s, MAP * ~NOTFOUND" % (host, args.resolve),
        "--no-proxy-server",
    ]
    if os.geteuid() == 0:
        chromium_args.append("--no-sandbox")  # chromium's sandbox refuses to run as root
    problems = []
    started = time.monotonic()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=chromium_args,
                env=dict(os.environ, HOME=home),
                timeout=60000,
            )
            context = browser.new_context(
                viewport={"width": 1400, "height": 900},
                http_credentials={"username": args.user, "password": password, "origin": args.url, "send": "always"},
            )
            context.set_default_timeout(timeout)
            context.set_default_navigation_timeout(timeout)
            for number, (name, path, wait_for) in enumerate(views, start=1):
                problems += open_view(context, args, number, name, path, wait_for)
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("%d views in %.1fs, screenshots in %s" % (len(views), time.monotonic() - started, args.out))
    if problems:
        print("browser check FAILED (%d problems):" % len(problems))
        for line in problems:
            print("  " + line)
        sys.exit(1)
    print("browser check passed: no failed request, no error response, no console error")


if __name__ == "__main__":
    main()
