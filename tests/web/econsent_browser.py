#!/usr/bin/python3
"""econsent_browser.py NODE_URL GENESIS TRIAL INVESTIGATOR_KEY TRIALCTL AXE_JS OUT_DIR - the
e-consent session on two devices (web/econsent.html and web/sign.html) in two headless
Chromium sessions (two drivers: the site's tablet and the participant's phone) against a
running consortium whose example trial is on the ledger:

 1. the participant's device makes its key (generateKey) and shows its public key; the
    key file is offered for download;
 2. the investigator's device loads the genesis and its key, reads the approved versions
    (verified in the page), is refused a consent form file whose SHA-256 is not an approved
    form's (the message says so), accepts the approved one, ticks two scopes, types the
    participant's key and opens the envelope; the QR code it draws reads back (zbarimg) as
    the link;
 3. the participant's device reads the consent by its code, shows it in words, signs;
 4. the investigator's device co-signs as witness and submits; both pages show the summary
    "verified" with the trial, the scopes in words and the witness's meaning, and their
    receipt downloads are the same bytes, which `trialctl verify-receipt` accepts;
 5. the network log of both browsers holds no request carrying key material (either seed,
    in hex or base64, in any URL, header or body), and exportKey fails on a key loaded by
    the site page's keys.mjs;
 6. axe-core finds no serious or critical violation on either page; no console error.
Screenshots of each step go to OUT_DIR. Exit 0 when all holds, 1 with the reason otherwise.
"""
import base64
import os
import re
import subprocess
import sys
import time

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import browser_lib as lib
from browser_lib import browser, download, fail, key_forms, network_requests, status, wait_status

NODE, GENESIS, TRIAL, INV_KEY, TRIALCTL, AXE_JS, OUT = sys.argv[1:8]
lib.set_name("econsent_browser")


def screenshot(d, name, width):
    lib.screenshot(d, OUT, name, width)


def axe(d, page):
    lib.axe(d, AXE_JS, page)


def main():
    os.makedirs(OUT, exist_ok=True)
    inv_seed = re.search(r"^seed ([0-9a-f]{64})$", open(INV_KEY).read(), re.M).group(1)
    site_dl, phone_dl = os.path.join(OUT, "site-downloads"), os.path.join(OUT, "phone-downloads")
    site = browser(1100, site_dl)
    phone = browser(420, phone_dl)
    try:
        # 1. the participant's device makes its key
        phone.get(f"{NODE}/app/sign.html")
        phone.find_element(By.ID, "create").click()
        WebDriverWait(phone, 30).until(lambda d: d.find_element(By.ID, "public").text)
        participant = phone.find_element(By.ID, "public").text
        keyfile = download(phone, "#key-download", phone_dl).decode()
        m = re.fullmatch(r"trialreg-ed25519-secret-v1\nseed ([0-9a-f]{64})\npublic ([0-9a-f]{64})\n", keyfile)
        if not m or m.group(2) != participant:
            fail(f"the participant's key file is not FORMATS 6.3 for the key shown: {keyfile!r}")
        part_seed = m.group(1)
        screenshot(phone, "econsent-1-participant-key", 420)
        print(f"1. the participant's device made key {participant[:16]}... and offers its key file")

        # 2. the investigator's device prepares the consent
        site.get(f"{NODE}/app/econsent.html")
        site.find_element(By.ID, "genesis").send_keys(GENESIS)
        site.find_element(By.ID, "key").send_keys(INV_KEY)
        site.find_element(By.ID, "trial").send_keys(TRIAL)
        site.find_element(By.ID, "load-versions").click()
        wait_status(site, lambda s: "approved version(s) read and verified" in s, "reading the versions", 60)
        version = site.find_element(By.ID, "version").get_attribute("value")
        wrong = os.path.join(OUT, "not-the-approved-form.txt")
        open(wrong, "w").write(f"consent form v{version}, edited\n")
        site.find_element(By.ID, "form").send_keys(wrong)
        s = wait_status(site, lambda s: "does not match" in s, "a form file that is not the approved one", 30)
        screenshot(site, "econsent-2-wrong-form", 1100)
        print(f"2. a form file whose hash is not approved: \"{s[:100]}...\"")
        site.find_element(By.ID, "start").click()
        time.sleep(1)
        if site.find_element(By.ID, "link").get_attribute("href").find("?e=") >= 0:
            fail("an envelope was opened with a form that does not match")
        form = os.path.join(OUT, f"consent-form-v{version}.txt")
        open(form, "w").write(f"consent form v{version}")  # its SHA-256 is the approved form's
        site.find_element(By.ID, "form").send_keys(form)
        wait_status(site, lambda s: "matches the approved one" in s, "the approved form", 30)
        site.find_element(By.ID, "scope-main").click()
        site.find_element(By.ID, "scope-follow_up").click()
        site.find_element(By.ID, "participant").send_keys(participant)
        screenshot(site, "econsent-3-prepared", 1100)
        site.find_element(By.ID, "start").click()
        try:
            WebDriverWait(site, 120).until(lambda d: "?e=" in d.find_element(By.ID, "link").get_attribute("href")
                                           or "refused" in status(d) or "did not" in status(d))
        except TimeoutException:
            screenshot(site, "econsent-4-no-envelope", 1100)
            fail(f"no envelope after 120 s: {status(site)!r}")
        link = site.find_element(By.ID, "link").get_attribute("href")
        if "?e=" not in link:
            fail(f"no envelope: {status(site)!r}")
        code = site.find_element(By.ID, "code").text
        chain = site.find_element(By.ID, "chain").text
        screenshot(site, "econsent-4-waiting-for-participant", 1100)
        # the QR code drawn by the page (qr.mjs) reads back as the link (zbarimg)
        qr_png = os.path.join(OUT, "econsent-qr.png")
        site.find_element(By.CSS_SELECTOR, "#qr svg").screenshot(qr_png)
        read = subprocess.run(["zbarimg", "--quiet", "--raw", qr_png], capture_output=True, text=True).stdout.strip()
        if read != link:
            fail(f"the page's QR code reads {read!r}, not the link {link!r}")
        print(f"3. version {version}, form matched, enrolled, envelope {code} opened: {link} (its QR code reads back)")

        # 3. the participant's device reads and signs
        phone.find_element(By.ID, "genesis").send_keys(GENESIS)
        phone.find_element(By.ID, "expect").send_keys(chain)
        phone.find_element(By.ID, "envelope").send_keys(code)
        phone.find_element(By.ID, "read").click()
        WebDriverWait(phone, 30).until(lambda d: d.find_element(By.ID, "consent").is_displayed()
                                       or "refused" in status(d))
        terms = phone.find_element(By.ID, "terms").text
        for want in (TRIAL, "Take part in the study", "Be contacted again"):
            if want not in terms:
                fail(f"the participant's page does not show {want!r}: {terms!r}")
        if "Genetic" in terms:
            fail(f"a scope not asked for is shown: {terms!r}")
        screenshot(phone, "econsent-5-participant-reads", 420)
        phone.find_element(By.ID, "sign").click()
        wait_status(phone, lambda s: "Tick the box" in s, "signing without the tick", 10)
        phone.find_element(By.ID, "agree").click()
        phone.find_element(By.ID, "sign").click()
        print(f"4. the participant's device shows the consent in words and signs after the tick")

        # 4. both pages end with the verified receipt
        s1 = wait_status(site, lambda s: "recorded" in s or "error" in s.lower() or "refused" in s, "the investigator's page", 180)
        s2 = wait_status(phone, lambda s: "recorded" in s or "refused" in s, "the participant's page", 180)
        screenshot(site, "econsent-6-investigator-summary", 1100)
        screenshot(phone, "econsent-7-participant-summary", 420)
        for name, d, st in (("investigator", site, s1), ("participant", phone, s2)):
            summary = d.find_element(By.ID, "summary").text
            if "✓ verified" not in summary or "is recorded" not in st:
                fail(f"the {name}'s page: status {st!r}, summary {summary!r}")
            for want in (TRIAL, f"Protocol version\n{version}", "Take part in the study",
                         "Be contacted again", "witness: the investigator saw", "author: the participant's own consent", "UTC"):
                if want not in summary:
                    fail(f"the {name}'s summary lacks {want!r}: {summary!r}")
        r1, r2 = download(site, "#receipt-download", site_dl), download(phone, "#receipt-download", phone_dl)
        if r1 != r2:
            fail("the two devices' receipts differ")
        path = os.path.join(OUT, "consent.receipt")
        open(path, "wb").write(r1)
        v = subprocess.run([TRIALCTL, "verify-receipt", "--genesis", GENESIS, path], capture_output=True, text=True)
        if v.returncode != 0:
            fail(f"trialctl verify-receipt refuses the downloaded receipt: {v.stdout}{v.stderr}")
        print(f"5. both pages: verified summary; the receipts are the same {len(r1)} bytes; trialctl verify-receipt: OK")
        # the same receipt with one byte flipped, through the page's own verify and summary
        flipped = bytearray(r1)
        flipped[len(flipped) // 2] ^= 0x01
        shown = site.execute_async_script(
            "const [g64, r64, done] = arguments;"
            "const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));"
            "Promise.all([import('/app/js/verify.mjs'), import('/app/js/esession.mjs')]).then(async ([v, e]) => {"
            " const g = await v.decodeGenesis(bytes(g64)); const r = bytes(r64);"
            " const out = document.createElement('section'); e.showSummary(out, g, await v.verifyReceiptFile(g, r), r, 'x');"
            " done(out.textContent); }).catch((x) => done('ERROR ' + x));",
            base64.b64encode(open(GENESIS, "rb").read()).decode(), base64.b64encode(bytes(flipped)).decode())
        if "✗ not verified" not in shown or "✓ verified" in shown:
            fail(f"a receipt with a flipped byte is summarised as: {shown[:300]!r}")
        print(f"   one byte flipped: \"{shown[len('The consent, as the registry recorded it'):][:90]}...\"")

        # 5. no key material on the wire; exportKey refused on a key the site page loads
        forms = key_forms(inv_seed) + key_forms(part_seed)
        sent = network_requests(site) + network_requests(phone)
        leaks = [r[:200] for r in sent if any(f in r for f in forms)]
        if leaks:
            fail(f"requests carry key material: {leaks}")
        posts = [r for r in sent if '"postData"' in r or '"hasPostData": true' in r]
        if len(sent) < 10 or not posts:
            fail(f"the network log looks empty ({len(sent)} requests, {len(posts)} with a body): the check would prove nothing")
        refused = site.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/app/js/keys.mjs').then(m => m.loadKeyFile(arguments[0]))"
            ".then(k => crypto.subtle.exportKey('pkcs8', k.privateKey).then(() => done('exported'), e => done('refused: ' + e.name)))"
            ".catch(e => done('load failed: ' + e));", open(INV_KEY).read())
        if not refused.startswith("refused"):
            fail(f"exportKey on the site page's key: {refused}")
        print(f"6. {len(sent)} requests logged ({len(posts)} with a body): no seed in any; exportKey {refused}")

        # 6. accessibility and the console
        axe(site, "econsent.html")
        axe(phone, "sign.html")
        for name, d in (("investigator", site), ("participant", phone)):
            # a receipt asked for before its tx commits is a 404, which Chromium logs
            errs = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"
                    and not ("/v1/receipts/" in e["message"] and "404" in e["message"])]
            if errs:
                fail(f"console errors on the {name}'s page: {errs}")
    finally:
        site.quit()
        phone.quit()
    print("econsent_browser: OK")


main()
