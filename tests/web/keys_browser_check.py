#!/usr/bin/python3
"""keys_browser_check.py NODE_URL CONSORTIUM TRIAL AXE_JS OUT_DIR PROXY_PORT - the key pages
(web/timeline.html, web/participant.html) in a real headless Chromium (Debian's chromium and
chromium-driver, python3-selenium) against a running consortium that ran the example trial
(CONSORTIUM/participants/p*.key: its participants' key files):

 1. the regulator's timeline: as many rows as the node's timeline has entries, every mark
    verified, the chain id shown; the kind, site and participant filters show only matching
    rows; a participant's row opens their consent history by scope; a chart per site; the CSV
    download holds the shown rows; axe-core: no serious or critical violation;
 2. a site's key (investigator-site-a) sees only participants enrolled at site-a;
 3. a participant (390x844, a phone) withdraws one scope with one confirmation: the signed
    tx is accepted, its certified receipt verified, shown and downloaded (trialctl
    verify-receipt accepts the download); axe-core; nothing wider than the screen;
    the regulator's timeline then shows the withdrawal, verified;
 4. through a test proxy that flips one byte of one receipt file, that row alone shows
    "not verified: STEP";
 5. no request the browser sent (URL, headers, body: Chromium's network log) carries key
    material: any loaded seed, in hex or base64, or its PKCS#8 bytes; nothing is kept in
    localStorage, sessionStorage or IndexedDB; exportKey on a key loaded by keys.mjs fails; no CSP violation in the console;
 6. at http://insecure.test (mapped to 127.0.0.1: plain HTTP at a name that is not loopback,
    so not a secure context) both key pages refuse to load the key and say why.
With HTTPS_ONLY=1 (NODE_URL https://trial.test:PORT, Chromium given
--ignore-certificate-errors): the page is a secure context and step 1's timeline verifies.
Screenshots go to OUT_DIR. Exit 0 when all holds, 1 with the reason otherwise.
"""
import base64
import glob
import hashlib
import http.client
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

import nacl.signing
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import browser_lib as lib
from browser_lib import PKCS8, fail, status
from browser_lib import timeline_rows as rows

NODE, CONS, TRIAL, AXE_JS, OUT, PROXY_PORT = sys.argv[1:7]
PROXY_PORT = int(PROXY_PORT)
HTTPS_ONLY = os.environ.get("HTTPS_ONLY") == "1"
TRIALCTL = os.environ.get("TRIALCTL", "")
GENESIS = os.path.join(CONS, "genesis.bin")
CHAIN = hashlib.sha256(open(GENESIS, "rb").read()).digest()
DOWNLOADS = os.path.join(OUT, "downloads")
lib.set_name("keys_browser_check")


def key_file(name):
    return os.path.join(CONS, "keys", f"{name}.key") if "/" not in name else name


def seed_of(path):
    return bytes.fromhex(open(path).read().split("\n")[1][5:])


def signed_get(key_path, target):
    """The node's JSON answer to a GET signed as docs/HTTP.md (RFC 9421), for the counts the
    page must match (written from the RFC, like tests/independent/http_client.py)."""
    key = nacl.signing.SigningKey(seed_of(key_path))
    path, _, query = target.partition("?")
    params = (f'("@method" "@path" "@query");created={int(time.time())};'
              f'keyid="{bytes(key.verify_key).hex()}";alg="ed25519";tag="trialreg-v1-{CHAIN.hex()}"')
    base = f'"@method": GET\n"@path": {path}\n"@query": ?{query}\n"@signature-params": {params}'
    sig = base64.b64encode(key.sign(base.encode()).signature).decode()
    u = urllib.parse.urlsplit(NODE)
    if u.scheme == "https":  # the node certificates name 127.0.0.1 too; the CA is the consortium's
        c = http.client.HTTPSConnection("127.0.0.1", u.port, timeout=30,
                                        context=ssl.create_default_context(cafile=os.path.join(CONS, "tls", "ca.pem")))
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", target, headers={"Signature-Input": f"sig1={params}", "Signature": f"sig1=:{sig}:"})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        fail(f"GET {target}: {r.status} {body[:200]}")
    return json.loads(body)


def timeline_entries(key_path):
    entries, start = [], 1
    while True:
        page = signed_get(key_path, f"/v1/trials/{TRIAL}/timeline?from={start}")
        entries += page["entries"]
        if page["complete"]:
            return entries
        start = page["next_height"]


TAMPER = {"tx": None, "done": False}


class Proxy(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the node (signature headers included); flips one byte of
    the receipt file of the tx TAMPER["tx"] (what a byzantine node could do)."""

    def forward(self, method):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else None
        u = urllib.parse.urlsplit(NODE)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(method, self.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        if (TAMPER["tx"] and self.path == f"/v1/receipts/{TAMPER['tx']}" and r.status == 200
                and "msgpack" in r.getheader("Content-Type", "")):
            raw = bytearray(data)
            raw[len(raw) // 2] ^= 0x01
            data = bytes(raw)
            TAMPER["done"] = True
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")

    def log_message(self, *args):
        pass


def browser(width=1200, height=1800):
    args = ["--host-resolver-rules=MAP trial.test 127.0.0.1, MAP insecure.test 127.0.0.1"]
    if HTTPS_ONLY:
        args.append("--ignore-certificate-errors")  # only for the HTTPS case: see web_keys_check.sh
    return lib.browser(width, DOWNLOADS, height, args)


SENT = []   # every request the browser sent: URL, headers, body (from the performance log)
CONSOLE = []


def drain(d):
    for e in d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m["method"] == "Network.requestWillBeSent":
            r = m["params"]["request"]
            SENT.append(r["url"] + "\n" + json.dumps(r.get("headers", {})) + "\n" + r.get("postData", ""))
        elif m["method"] == "Network.requestWillBeSentExtraInfo":
            SENT.append(json.dumps(m["params"].get("headers", {})))
    CONSOLE.extend(e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE")


def screenshot(d, name, width=1200):
    lib.screenshot(d, OUT, name, width)


def wait_status(d, timeout=120):
    return lib.wait_settled(d, timeout=timeout)


def sign_in(d, base, page, key_path):
    s = lib.sign_in(d, base, page, key_path, TRIAL, GENESIS, CHAIN.hex())
    drain(d)
    return s


def axe(d, what):
    lib.axe(d, AXE_JS, what)


def regulator_timeline(d, base, name):
    want = len(timeline_entries(key_file("regulator")))
    s = sign_in(d, base, "timeline.html", key_file("regulator"))
    r = rows(d)
    if len(r) != want or any(x["verified"] != "yes" for x in r) or f"All {want} events verified" not in s:
        fail(f"{name}: wanted {want} verified rows, got {len(r)} ({[x for x in r if x['verified'] != 'yes'][:3]}); status {s!r}")
    if d.find_element(By.CSS_SELECTOR, ".chain-id").text != CHAIN.hex():
        fail(f"{name}: the chain id shown is not the genesis's")
    if not d.execute_script("return window.isSecureContext"):
        fail(f"{name}: not a secure context")
    screenshot(d, name)
    return r


def main():
    os.makedirs(DOWNLOADS, exist_ok=True)
    d = browser()
    try:
        if HTTPS_ONLY:
            r = regulator_timeline(d, NODE, "timeline-https")
            print(f"HTTPS: {NODE} is a secure context; {len(r)} events verified")
            return
        # 1. the regulator's timeline
        r = regulator_timeline(d, NODE, "timeline-regulator")
        print(f"1. regulator: {len(r)} rows, every mark verified; chain id shown")
        axe(d, "the timeline")
        kinds = {}
        for x in r:
            kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
        Select(d.find_element(By.ID, "f-kind")).select_by_value("consent.grant")
        got = rows(d)
        if len(got) != kinds.get("consent.grant", -1) or any(x["kind"] != "consent.grant" for x in got):
            fail(f"kind filter: {len(got)} rows, {kinds.get('consent.grant')} grants expected")
        unnamed = [x["event"] for x in got if "witnessed by" not in x["event"] or "meaning: witness" not in x["event"]]
        if unnamed:
            fail(f"a consent row does not name its witness and meaning: {unnamed[0]!r}")
        Select(d.find_element(By.ID, "f-kind")).select_by_value("")
        Select(d.find_element(By.ID, "f-site")).select_by_value("site-a")
        got = rows(d)
        if not got or any(x["site"] != "site-a" for x in got):
            fail(f"site filter: {[x['site'] for x in got]}")
        Select(d.find_element(By.ID, "f-site")).select_by_value("")
        sel = Select(d.find_element(By.ID, "f-participant"))
        first = sel.options[1]
        short = first.text
        sel.select_by_index(1)
        got = rows(d)
        if not got or any(x["participant"] != short for x in got):
            fail(f"participant filter: {[x['participant'] for x in got]}")
        print(f"   filters: kind consent.grant {kinds['consent.grant']} rows, site-a only site-a, participant {short} only theirs")
        # the CSV holds the rows shown (the participant filter on)
        for f in glob.glob(os.path.join(DOWNLOADS, "*.csv")):
            os.remove(f)
        d.find_element(By.ID, "csv").click()
        WebDriverWait(d, 20).until(lambda _: glob.glob(os.path.join(DOWNLOADS, f"timeline-{TRIAL}.csv")))
        time.sleep(0.3)
        lines = open(os.path.join(DOWNLOADS, f"timeline-{TRIAL}.csv"), newline="").read().strip().split("\r\n")
        if lines[0].split(",")[0] != "height" or len(lines) != len(got) + 1 or not all('"verified"' in l for l in lines[1:]):
            fail(f"the CSV: {len(lines)} lines for {len(got)} rows: {lines[:2]}")
        print(f"   CSV: {len(lines) - 1} rows, header {lines[0][:40]}...")
        d.find_element(By.CSS_SELECTOR, "#events button.participant").click()
        hist = d.find_elements(By.CSS_SELECTOR, "#consent-table tbody tr")
        heads = [th.text for th in d.find_elements(By.CSS_SELECTOR, "#consent-table thead th")]
        grants = len([x for x in got if x["kind"] in ("consent.grant", "consent.withdraw") and "not done" not in x["event"]])
        if len(hist) != grants or "main study" not in heads:
            fail(f"the consent history: {len(hist)} rows for {grants} grants and withdrawals, columns {heads}")
        charts = d.find_elements(By.CSS_SELECTOR, "#chart-list svg")
        if len(charts) < 2:
            fail(f"{len(charts)} charts, one per site wanted")
        screenshot(d, "timeline-consent-history")
        sel.select_by_index(0)
        enrolled = {x["participant"]: x["site"] for x in rows(d) if x["kind"] == "consent.enrol"}
        print(f"   consent history: {len(hist)} changes by scope; {len(charts)} site charts")

        # 2. a site's key
        sign_in(d, NODE, "timeline.html", key_file("investigator-site-a"))
        site_rows = rows(d)
        seen = {x["participant"] for x in site_rows if x["participant"]}
        # verified, but for a protocol tx whose receipt the node does not let a site read and
        # that the public history does not hold (a refused one): said so, never shown as checked
        unreadable = [x for x in site_rows if x["verified"] != "yes"
                      and x["mark"] == "✗ not verified: receipt not readable with your key" and x["kind"].startswith("protocol.")]
        if (not seen or any(enrolled.get(p) != "site-a" for p in seen)
                or len([x for x in site_rows if x["verified"] != "yes"]) != len(unreadable)):
            fail(f"site-a's key sees participants {seen} (enrolments: {enrolled}); not verified: "
                 f"{[(x['event'], x['mark']) for x in site_rows if x['verified'] != 'yes'][:3]}; status {status(d)!r}")
        screenshot(d, "timeline-site-a")
        print(f"2. site-a: {len(site_rows)} rows ({len(unreadable)} refused protocol txs not readable by a site, said so), participants {sorted(seen)} all of site-a (the regulator sees {len(set(enrolled))})")

        # 3. a participant withdraws one scope on a phone-sized screen
        d.set_window_size(390, 844)
        chosen, tried = None, []
        for p in sorted(glob.glob(os.path.join(CONS, "participants", "p*.key"))):
            s = sign_in(d, NODE, "participant.html", p)
            tried.append(s[:160])
            boxes = [b for b in d.find_elements(By.CSS_SELECTOR, "#scopes input") if b.is_enabled()]
            if "You agree now to" in s and len(boxes) >= 2:
                chosen = p
                break
        if not chosen:
            fail(f"no participant of the example trial holds two scopes: {tried}")
        wide = d.execute_script("return document.documentElement.scrollWidth")
        if wide > 390:
            fail(f"the participant page is {wide} px wide at 390")
        axe(d, "the participant page")
        d.save_screenshot(os.path.join(OUT, "participant-phone.png"))
        before = s
        box = boxes[0]
        scope_label = d.find_element(By.CSS_SELECTOR, f"label[for={box.get_attribute('id')}]").text.split(":")[0]
        box.click()
        d.find_element(By.ID, "withdraw-some").click()
        WebDriverWait(d, 10).until(lambda d: d.find_element(By.ID, "confirm").is_displayed())
        d.save_screenshot(os.path.join(OUT, "participant-confirm.png"))
        d.find_element(By.ID, "confirm-yes").click()
        s = wait_status(d, timeout=60)
        if "certified and verified" not in s or not d.find_element(By.ID, "done").is_displayed():
            fail(f"the withdrawal: status {s!r}")
        if "✓ verified" not in d.find_element(By.ID, "done-facts").text:
            fail("the withdrawal's receipt is not shown verified")
        for f in glob.glob(os.path.join(DOWNLOADS, "*.receipt")):
            os.remove(f)
        d.find_element(By.ID, "save-receipt").click()
        WebDriverWait(d, 20).until(lambda _: glob.glob(os.path.join(DOWNLOADS, "withdrawal-*.receipt")))
        time.sleep(0.3)
        receipt = glob.glob(os.path.join(DOWNLOADS, "withdrawal-*.receipt"))[0]
        if TRIALCTL:
            out = subprocess.run([TRIALCTL, "verify-receipt", "--genesis", GENESIS, receipt], capture_output=True, text=True)
            if out.returncode != 0:
                fail(f"trialctl verify-receipt refuses the downloaded receipt: {out.stdout} {out.stderr}")
        if scope_label in s.split("remaining:")[-1].split(".")[0] and "remaining" in s:
            fail(f"{scope_label} still agreed after withdrawing it: {s!r}")
        screenshot(d, "participant-withdrawn", width=390)
        drain(d)
        print(f"3. participant {os.path.basename(chosen)} at 390x844: withdrew {scope_label!r}; {s[:100]}...; "
              f"receipt downloaded{' and verified by trialctl' if TRIALCTL else ''}")
        d.set_window_size(1200, 1800)
        r2 = regulator_timeline(d, NODE, "timeline-after-withdrawal")
        new = [x for x in r2 if x["kind"] == "consent.withdraw" and scope_label in x["event"]]
        if len(r2) != len(r) + 1 or not new:
            fail(f"the regulator's timeline after the withdrawal: {len(r2)} rows (was {len(r)}), withdrawal rows {new}")
        print(f"   the regulator's timeline shows it: {new[-1]['event'][:80]} ({new[-1]['mark']})")

        # 4. one receipt byte flipped by a proxy
        entries = timeline_entries(key_file("regulator"))
        TAMPER["tx"] = entries[2]["tx"]["tx_id"]
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", PROXY_PORT), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        sign_in(d, f"http://127.0.0.1:{PROXY_PORT}", "timeline.html", key_file("regulator"))
        got = rows(d)
        bad = [i for i, x in enumerate(got) if x["verified"] != "yes"]
        proxy.shutdown()
        proxy.server_close()
        if not TAMPER["done"] or bad != [2] or not got[2]["mark"].startswith("✗ not verified: "):
            fail(f"tampered receipt: rows not verified {bad}, marks {[x['mark'] for x in got[:4]]}")
        if "did NOT verify" not in status(d):
            fail(f"tampered: status {status(d)!r}")
        screenshot(d, "timeline-tampered")
        print(f"4. one byte of row 2's receipt flipped: \"{got[2]['mark']}\", the other {len(got) - 1} verified")

        # 5. key material never sent; exportKey fails
        result = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('./js/keys.mjs').then(m => m.loadKeyFile(arguments[0])).then(k => "
            "crypto.subtle.exportKey('pkcs8', k.privateKey).then(() => done('exported'), e => done(e.name + ' ' + k.privateKey.extractable)))"
            ".catch(e => done('load failed: ' + e.message));", open(key_file("regulator")).read())
        if result != "InvalidAccessError false":
            fail(f"exportKey on a loaded key: {result}")
        stored = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "indexedDB.databases().then(dbs => done(`${localStorage.length} ${sessionStorage.length} ${dbs.length}`))"
            ".catch(e => done('error ' + e.message));")
        if stored != "0 0 0":
            fail(f"the pages stored something (localStorage, sessionStorage, IndexedDB databases): {stored}")
        drain(d)
        secrets = {}
        for p in [key_file("regulator"), key_file("investigator-site-a"), chosen]:
            seed = seed_of(p)
            for form, v in (("seed hex", seed.hex()), ("seed base64", base64.b64encode(seed).decode()),
                            ("seed base64url", base64.urlsafe_b64encode(seed).decode().rstrip("=")),
                            ("PKCS#8 hex", (PKCS8 + seed).hex()), ("PKCS#8 base64", base64.b64encode(PKCS8 + seed).decode())):
                secrets[f"{os.path.basename(p)} {form}"] = v
        leaks = [k for k, v in secrets.items() for s in SENT if v.lower() in s.lower()]
        if not SENT or leaks:
            fail(f"{len(SENT)} requests logged; key material sent: {leaks}")
        csp = [m for m in CONSOLE if "Content Security Policy" in m]
        if csp:
            fail(f"CSP violations: {csp}")
        # 6. not a secure context (plain HTTP at a name that is not loopback): no key is loaded
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", PROXY_PORT + 1), Proxy)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            for page in ("timeline.html", "participant.html"):
                d.get(f"http://insecure.test:{PROXY_PORT + 1}/app/{page}?trial={TRIAL}")
                WebDriverWait(d, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#status p"))
                if d.execute_script("return window.isSecureContext"):
                    fail("http://insecure.test is a secure context: the test shows nothing")
                d.find_element(By.ID, "key").send_keys(key_file("regulator"))
                d.find_element(By.ID, "genesis").send_keys(GENESIS)
                d.find_element(By.ID, "go").click()
                time.sleep(0.5)
                s6 = status(d)
                if "not in a secure context" not in s6 or d.find_element(By.ID, "me").is_displayed() or rows(d):
                    fail(f"{page} outside a secure context: status {s6!r}")
                screenshot(d, f"{page.split('.')[0]}-not-secure")
        finally:
            proxy.shutdown()
            proxy.server_close()
        print(f"6. outside a secure context both key pages refuse: \"{s6[:80]}...\"")
        drain(d)
        print(f"5. {len(SENT)} requests in the network log, none with a seed or PKCS#8 bytes "
              f"({len(secrets)} forms of 3 keys looked for); exportKey: {result.split()[0]}; no CSP violation")
    finally:
        d.quit()
    print("keys_browser_check: OK")


main()
