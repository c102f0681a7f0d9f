"""browser_lib.py - the helpers the Chromium tests of the web pages share
(econsent_browser.py, keys_browser_check.py, flow_browser.py): a headless Debian chromium
driven by chromium-driver (python3-selenium), screenshots, the #status line every page has,
downloads, axe-core, the network log, the forms a key seed could take on the wire, the rows
of web/timeline.html and signing in on the key pages (timeline.html, participant.html).

Each script calls set_name() first so that fail() says which test failed."""
import base64
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

NAME = ["browser_lib"]
PKCS8 = bytes.fromhex("302e020100300506032b657004220420")  # RFC 8410 PKCS#8 prefix of an Ed25519 seed


def set_name(name):
    NAME[0] = name


def fail(msg):
    print(f"{NAME[0]}: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def browser(width, downloads, height=1400, extra_args=()):
    """A headless Chromium saving downloads in `downloads`, logging the console and the
    network (goog:loggingPrefs, for network_requests and console_errors)."""
    os.makedirs(downloads, exist_ok=True)
    o = webdriver.ChromeOptions()
    o.add_experimental_option("prefs", {"download.default_directory": downloads,
                                        "download.prompt_for_download": False})
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update", *extra_args):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def screenshot(d, out, name, width):
    """The whole page at `width` (the window first made small, so that the height is the
    document's own, not the last window's) saved as out/name.png."""
    d.set_window_size(width, 800)
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, min(max(height + 120, 800), 8000))
    d.save_screenshot(os.path.join(out, f"{name}.png"))


def status(d):
    return d.find_element(By.ID, "status").text


def wait_status(d, pred, what, timeout=120):
    """Wait until the page's status line satisfies pred; fail with `what` if it does not."""
    try:
        WebDriverWait(d, timeout).until(lambda d: pred(status(d)))
    except TimeoutException:
        fail(f"{what}: the page says {status(d)!r}")
    return status(d)


BUSY = ("Reading", "Verifying", "Signing", "Sent.", "Waiting")


def wait_settled(d, busy=BUSY, timeout=120):
    """Wait until the status line says something that is not one of the busy messages."""
    WebDriverWait(d, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#status p")
                                    and not any(b in status(d) for b in busy))
    time.sleep(0.2)
    return status(d)


def download_file(d, selector, folder):
    """Click a download link (a blob: URL; the pages' CSP rightly forbids reading it with
    fetch) and return the path of the file the browser saved in folder."""
    before = set(os.listdir(folder))
    d.find_element(By.CSS_SELECTOR, selector).click()
    for _ in range(100):
        new = [f for f in set(os.listdir(folder)) - before
               if not f.endswith(".crdownload") and not f.startswith(".")]
        if new:
            time.sleep(0.2)
            return os.path.join(folder, new[0])
        time.sleep(0.1)
    fail(f"the download {selector} saved no file in {folder}")


def download(d, selector, folder):
    """download_file, returning the bytes of the file."""
    with open(download_file(d, selector, folder), "rb") as f:
        return f.read()


def axe(d, axe_js, page):
    """axe-core (the file axe_js) run in the page: fail on a serious or critical violation."""
    with open(axe_js) as f:
        d.execute_script(f.read())
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))));")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    print(f"   axe-core on {page}: {len(result)} violations, {len(serious)} serious or critical")
    for v in result:
        print(f"   axe {v['impact']}: {v['id']} ({v['nodes']} nodes): {v['help']}")
    if serious:
        fail(f"axe-core on {page}: serious or critical violations: {serious}")


def network_requests(d):
    """Every request the browser sent since the last call: (url, headers, post data) as one
    JSON text each (Chromium's performance log, which a read empties)."""
    out = []
    for entry in d.get_log("performance"):
        m = json.loads(entry["message"])["message"]
        if m.get("method") in ("Network.requestWillBeSent", "Network.requestWillBeSentExtraInfo"):
            out.append(json.dumps(m.get("params", {})))
    return out


def key_forms(seed_hex):
    """The forms a seed could take in a request: hex (both cases), base64, base64url, PKCS#8."""
    seed = bytes.fromhex(seed_hex)
    b64 = base64.b64encode(seed).decode()
    url = base64.urlsafe_b64encode(seed).decode().rstrip("=")
    pkcs8 = base64.b64encode(PKCS8 + seed).decode()
    return [seed_hex, seed_hex.upper(), b64.rstrip("="), url, pkcs8.rstrip("=")]


def sign_in(d, base, page, key_path, trial, genesis, chain_hex):
    """Open a key page (timeline.html, participant.html) for `trial`, load the key file and
    the genesis, type the chain id expected, sign in; return the settled status line."""
    d.get(f"{base}/app/{page}?trial={trial}")
    d.find_element(By.ID, "key").send_keys(key_path)
    d.find_element(By.ID, "genesis").send_keys(genesis)
    d.find_element(By.ID, "expect").send_keys(chain_hex)
    d.find_element(By.ID, "go").click()
    return wait_settled(d)


def timeline_rows(d):
    """The rows timeline.html shows, each as a dict."""
    out = []
    for tr in d.find_elements(By.CSS_SELECTOR, "#events tbody tr"):
        tds = tr.find_elements(By.TAG_NAME, "td")
        out.append({"verified": tr.get_attribute("data-verified"), "kind": tr.get_attribute("data-kind"),
                    "height": int(tds[0].text), "event": tds[2].text, "site": tds[3].text,
                    "participant": tds[4].text, "mark": tds[6].text})
    return out
