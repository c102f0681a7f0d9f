#!/usr/bin/python3
"""browser_check.py NODE_URL GENESIS TRIAL AXE_JS OUT_DIR PROXY_PORT - the public protocol
history page (web/history.html) in a real headless Chromium (Debian's chromium and
chromium-driver, driven by python3-selenium) against a running consortium:

 1. straight from the node: the genesis loaded through the file picker and its chain id
    typed (as an organisation publishes it), every event shows
    "verified" (as many as the history's total), the chain id is shown, no console error,
    and axe-core (run in the same session) finds no serious or critical violation;
 2. through a test proxy that flips one byte of one event's receipt file: that event shows
    "not verified: STEP" naming the step, every other one verified;
 3. a genesis of another chain (the same bytes with its name changed): the page says no event
    verifies against it and that the node serves another chain;
 4. the node gone (the proxy stopped after the page loaded): the page says it cannot reach it;
 5. a file that is not a genesis: the page says so;
 6. a chain id typed that is not the genesis file's: the page refuses the genesis;
 7. the page at a name that is not a secure context (http://insecure.test, mapped to
    127.0.0.1 by the browser's resolver rules): it says that it cannot verify without
    WebCrypto, and shows no event.
Screenshots of each step go to OUT_DIR. Exit 0 when all holds, 1 with the reason otherwise.
"""
import base64
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

NODE, GENESIS, TRIAL, AXE_JS, OUT, PROXY_PORT = sys.argv[1:7]
PROXY_PORT = int(PROXY_PORT)
TAMPER_EVENT = int(os.environ.get("TAMPER_EVENT", "2"))
TAMPER_BYTE = int(os.environ.get("TAMPER_BYTE", "600"))


def fail(msg):
    print(f"browser_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards GETs to the node; flips byte TAMPER_BYTE of event TAMPER_EVENT's receipt file
    in the history's first page (what a byzantine node, or a man in the middle, could do)."""

    def do_GET(self):
        try:
            with urllib.request.urlopen(NODE + self.path, timeout=10) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        if self.path.startswith("/v1/trials/") and "/history" in self.path and status == 200:
            doc = json.loads(body)
            if doc["from"] == 0 and len(doc["events"]) > TAMPER_EVENT:
                raw = bytearray(base64.b64decode(doc["events"][TAMPER_EVENT]["receipt_file"]))
                raw[TAMPER_BYTE % len(raw)] ^= 0x01
                doc["events"][TAMPER_EVENT]["receipt_file"] = base64.b64encode(raw).decode()
            body = json.dumps(doc).encode()
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1100,1800", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update",
              "--host-resolver-rules=MAP insecure.test 127.0.0.1"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def console_errors(d, allow=()):
    errors = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"]
    return [m for m in errors if not any(a in m for a in allow)]


def screenshot(d, name):
    """The whole page: the window made as tall as the document first."""
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(1100, min(max(height + 120, 800), 8000))
    d.save_screenshot(os.path.join(OUT, f"{name}.png"))


def show(d, base, genesis, name, expect=""):
    """Open the page at base, load genesis (and type the chain id expect), submit, wait for
    the status; screenshot."""
    d.get(f"{base}/app/history.html?trial={TRIAL}")
    d.find_element(By.ID, "genesis").send_keys(genesis)
    if expect:
        d.find_element(By.ID, "expect").send_keys(expect)
    d.find_element(By.ID, "show").click()
    WebDriverWait(d, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#status p")
                               and "Reading" not in d.find_element(By.ID, "status").text)
    time.sleep(0.2)
    screenshot(d, name)
    return d.find_element(By.ID, "status").text


def marks(d):
    return [(e.get_attribute("data-verified"), e.find_element(By.CSS_SELECTOR, ".mark").text)
            for e in d.find_elements(By.CSS_SELECTOR, "#events .event")]


def main():
    os.makedirs(OUT, exist_ok=True)
    with urllib.request.urlopen(f"{NODE}/v1/trials/{TRIAL}/history") as r:
        total = json.loads(r.read())["total"]
    if total < TAMPER_EVENT + 1:
        fail(f"the trial has {total} events, the test needs more than {TAMPER_EVENT}")
    d = browser()
    try:
        # 1. every event verified, straight from the node (the chain id typed, as published)
        chain_id = hashlib.sha256(open(GENESIS, "rb").read()).hexdigest()
        status = show(d, NODE, GENESIS, "history-verified", expect=chain_id)
        m = marks(d)
        if len(m) != total or any(v != "yes" for v, _ in m):
            fail(f"wanted {total} verified events, got {m}; status: {status}")
        if "All %d events verified" % total not in status:
            fail(f"status says {status!r}")
        chain = d.find_element(By.CSS_SELECTOR, ".chain-id").text
        if chain != chain_id or "matches the one you typed" not in d.find_element(By.ID, "chain").text:
            fail(f"the chain id shown is {chain!r}, wanted {chain_id} and that it matches the one typed")
        footer = d.find_element(By.ID, "bundle").text
        if len(footer) != 64:
            fail(f"the footer shows no bundle hash ({footer!r})")
        errs = console_errors(d)
        if errs:
            fail(f"console errors: {errs}")
        with open(AXE_JS) as f:
            d.execute_script(f.read())
        result = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))));")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        print(f"1. {total} events verified; chain id {chain[:16]}...; bundle {footer[:16]}...; "
              f"axe-core: {len(result)} violations, {len(serious)} serious or critical")
        for v in result:
            print(f"   axe {v['impact']}: {v['id']} ({v['nodes']} nodes): {v['help']}")
        if serious:
            fail(f"axe-core: serious or critical violations: {serious}")

        # 2. one byte flipped by the proxy
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", PROXY_PORT), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{PROXY_PORT}"
        status = show(d, base, GENESIS, "history-tampered")
        m = marks(d)
        bad = [i for i, (v, _) in enumerate(m) if v != "yes"]
        if bad != [TAMPER_EVENT] or not m[TAMPER_EVENT][1].startswith("✗ not verified: "):
            fail(f"wanted event {TAMPER_EVENT} alone not verified, got {m}")
        step = m[TAMPER_EVENT][1][len("✗ not verified: "):]
        if "did NOT verify" not in status:
            fail(f"status says {status!r}")
        print(f"2. byte {TAMPER_BYTE} of event {TAMPER_EVENT} flipped: that event shows "
              f"\"not verified: {step}\", the other {len(m) - 1} verified")

        # 3. a genesis of another chain
        other = os.path.join(OUT, "other-chain-genesis.bin")
        g = bytearray(open(GENESIS, "rb").read())
        name_at = 4  # [version, chain_name]: a 1- or 2-byte str header at byte 2, then the name
        g[name_at] ^= 0x01
        open(other, "wb").write(g)
        status = show(d, NODE, other, "history-other-chain")
        if "another chain" not in status or any(v == "yes" for v, _ in marks(d)):
            fail(f"a genesis of another chain: status {status!r}, marks {marks(d)}")
        print(f"3. another chain's genesis: \"{status[:90]}...\"")

        # 4. the node gone: the page is loaded through the proxy, then the proxy stops
        show(d, base, GENESIS, "history-before-down")
        proxy.shutdown()
        proxy.server_close()
        d.find_element(By.ID, "show").click()
        WebDriverWait(d, 30).until(lambda d: "Cannot reach" in d.find_element(By.ID, "status").text)
        screenshot(d, "history-node-down")
        print(f"4. node down: \"{d.find_element(By.ID, 'status').text[:90]}...\"")

        # 5. not a genesis
        notgen = os.path.join(OUT, "not-a-genesis.bin")
        open(notgen, "wb").write(b"hello\n")
        status = show(d, NODE, notgen, "history-not-genesis")
        if "not a trialreg genesis" not in status:
            fail(f"a file that is not a genesis: status {status!r}")
        print(f"5. not a genesis: \"{status}\"")

        # 6. a typed chain id that differs
        wrong = ("0" if chain_id[0] != "0" else "1") + chain_id[1:]
        status = show(d, NODE, GENESIS, "history-wrong-chain-id", expect=wrong)
        if "not the " + wrong not in status or marks(d):
            fail(f"a typed chain id that differs: status {status!r}, marks {marks(d)}")
        print(f"6. a typed chain id that differs: \"{status[:90]}...\"")

        # 7. not a secure context: plain HTTP at a name other than localhost or 127.0.0.1
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", PROXY_PORT + 1), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        d.get(f"http://insecure.test:{PROXY_PORT + 1}/app/history.html?trial={TRIAL}")
        try:
            WebDriverWait(d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#status p"))
        except TimeoutException:
            fail("outside a secure context the page says nothing")
        if d.execute_script("return window.isSecureContext"):
            fail("http://insecure.test is a secure context: the test shows nothing")
        d.find_element(By.ID, "genesis").send_keys(GENESIS)
        d.find_element(By.ID, "show").click()
        time.sleep(0.5)
        status = d.find_element(By.ID, "status").text
        screenshot(d, "history-not-secure")
        proxy.shutdown()
        proxy.server_close()
        if "not in a secure context" not in status or marks(d):
            fail(f"outside a secure context: status {status!r}, marks {marks(d)}")
        print(f"7. not a secure context: \"{status[:90]}...\"")
        errs = console_errors(d, allow=("ERR_CONNECTION_REFUSED", "Failed to fetch"))
        csp = [e for e in errs if "Content Security Policy" in e]
        if csp:
            fail(f"CSP violations: {csp}")
    finally:
        d.quit()
    print("browser_check: OK")


main()
