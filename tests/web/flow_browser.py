#!/usr/bin/python3
"""flow_browser.py NODE_URL CONSORTIUM TRIAL TRIALCTL OUT_DIR - issue 21 item 5's whole flow
for ONE new participant in headless Chromium (two drivers: the site's tablet and the
participant's phone) against a running consortium whose example trial is on the ledger
(CONSORTIUM/genesis.bin, CONSORTIUM/keys/{investigator-site-a,regulator}.key):

 1. the phone (web/sign.html) creates the participant's key and downloads its key file;
 2. the e-consent session: the site (web/econsent.html, investigator-site-a) prepares the
    consent (approved form, scopes "main study" and "follow-up", the new key), the phone
    reads and signs it, the site co-signs as witness; both pages show the verified summary;
 3. the participant, on the phone, signs in on web/participant.html with the DOWNLOADED key
    file, sees both scopes, withdraws "follow-up" with one confirmation: certified, verified;
    its downloaded receipt is accepted by `trialctl verify-receipt`;
 4. the regulator's web/timeline.html: every mark verified; for this participant the
    enrolment, the grant (both scopes, witnessed by the investigator, meaning witness) and
    the withdrawal (follow-up, main study remaining), in that commit order, each verified;
    the participant's consent history by scope: the grant (both agreed) then the
    withdrawal (main study agreed, follow-up not).
Screenshots in OUT_DIR. Exit 0 when all holds, 1 with the reason otherwise.
The helpers are tests/web/browser_lib.py's (shared with econsent_browser.py and
keys_browser_check.py)."""
import hashlib
import os
import re
import subprocess
import sys

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import browser_lib as lib
from browser_lib import browser, download_file, fail, status, timeline_rows, wait_status

NODE, CONS, TRIAL, TRIALCTL, OUT = sys.argv[1:6]
lib.set_name("flow_browser")
GENESIS = os.path.join(CONS, "genesis.bin")
CHAIN = hashlib.sha256(open(GENESIS, "rb").read()).hexdigest()
INV_KEY = os.path.join(CONS, "keys", "investigator-site-a.key")
REG_KEY = os.path.join(CONS, "keys", "regulator.key")
SITE_W, PHONE_W = 1200, 420


def shot(d, name, width):
    lib.screenshot(d, OUT, name, width)


def econsent_session(site, phone, phone_dl):
    """Steps 1 and 2: the new participant's key file (path) and public key, the version."""
    phone.get(f"{NODE}/app/sign.html")
    phone.find_element(By.ID, "create").click()
    WebDriverWait(phone, 30).until(lambda d: d.find_element(By.ID, "public").text)
    participant = phone.find_element(By.ID, "public").text
    key_path = download_file(phone, "#key-download", phone_dl)
    keyfile = open(key_path).read()
    if not re.fullmatch(rf"trialreg-ed25519-secret-v1\nseed [0-9a-f]{{64}}\npublic {participant}\n", keyfile):
        fail(f"the downloaded key file is not FORMATS 6.3 for the key shown: {keyfile!r}")
    shot(phone, "flow-1-participant-key", PHONE_W)
    print(f"1. the phone made key {participant[:16]}... and downloaded its key file {os.path.basename(key_path)}")

    site.get(f"{NODE}/app/econsent.html")
    site.find_element(By.ID, "genesis").send_keys(GENESIS)
    site.find_element(By.ID, "key").send_keys(INV_KEY)
    site.find_element(By.ID, "trial").send_keys(TRIAL)
    site.find_element(By.ID, "load-versions").click()
    wait_status(site, lambda s: "approved version(s) read and verified" in s, "reading the versions", 60)
    version = site.find_element(By.ID, "version").get_attribute("value")
    form = os.path.join(OUT, f"consent-form-v{version}.txt")
    open(form, "w").write(f"consent form v{version}")  # its SHA-256 is the approved form's
    site.find_element(By.ID, "form").send_keys(form)
    wait_status(site, lambda s: "matches the approved one" in s, "the approved form", 30)
    site.find_element(By.ID, "scope-main").click()
    site.find_element(By.ID, "scope-follow_up").click()
    site.find_element(By.ID, "participant").send_keys(participant)
    site.find_element(By.ID, "start").click()
    try:
        WebDriverWait(site, 120).until(lambda d: "?e=" in d.find_element(By.ID, "link").get_attribute("href")
                                       or "refused" in status(d) or "did not" in status(d))
    except TimeoutException:
        fail(f"no envelope after 120 s: {status(site)!r}")
    if "?e=" not in site.find_element(By.ID, "link").get_attribute("href"):
        fail(f"no envelope: {status(site)!r}")
    code = site.find_element(By.ID, "code").text
    chain = site.find_element(By.ID, "chain").text
    if chain != CHAIN:
        fail(f"the site page shows chain id {chain}, the genesis's is {CHAIN}")
    shot(site, "flow-2-site-waiting", SITE_W)

    phone.find_element(By.ID, "genesis").send_keys(GENESIS)
    phone.find_element(By.ID, "expect").send_keys(chain)
    phone.find_element(By.ID, "envelope").send_keys(code)
    phone.find_element(By.ID, "read").click()
    WebDriverWait(phone, 30).until(lambda d: d.find_element(By.ID, "consent").is_displayed()
                                   or "refused" in status(d))
    terms = phone.find_element(By.ID, "terms").text
    if TRIAL not in terms or "Take part in the study" not in terms or "Be contacted again" not in terms:
        fail(f"the phone does not show the consent in words: {terms!r}")
    phone.find_element(By.ID, "agree").click()
    phone.find_element(By.ID, "sign").click()
    for name, d in (("site", site), ("phone", phone)):
        st = wait_status(d, lambda s: "recorded" in s or "refused" in s or "error" in s.lower(), f"the {name}'s page", 180)
        summary = d.find_element(By.ID, "summary").text
        if "is recorded" not in st or "✓ verified" not in summary or "witness: the investigator saw" not in summary:
            fail(f"the {name}'s page after the session: status {st!r}, summary {summary!r}")
    shot(site, "flow-3-site-summary", SITE_W)
    shot(phone, "flow-4-phone-summary", PHONE_W)
    print(f"2. e-consent session, version {version}, envelope {code}: signed on the phone, witnessed on the site, "
          "both summaries verified")
    return key_path, participant, version


def withdraw(phone, key_path, phone_dl):
    """Step 3: the participant withdraws follow-up with the downloaded key file."""
    phone.set_window_size(390, 844)
    s = lib.sign_in(phone, NODE, "participant.html", key_path, TRIAL, GENESIS, CHAIN)
    if "You agree now to: main study, follow-up." not in s:
        fail(f"the participant page after the session: {s!r}")
    box = phone.find_element(By.ID, "scope-2")  # follow-up (web/js/ledger.mjs SCOPES)
    if not box.is_enabled():
        fail("follow-up is not offered for withdrawal")
    box.click()
    phone.find_element(By.ID, "withdraw-some").click()
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "confirm").is_displayed())
    phone.find_element(By.ID, "confirm-yes").click()
    s = lib.wait_settled(phone, timeout=60)
    if "certified and verified" not in s or "✓ verified" not in phone.find_element(By.ID, "done-facts").text:
        fail(f"the withdrawal: status {s!r}")
    receipt = download_file(phone, "#save-receipt", phone_dl)
    v = subprocess.run([TRIALCTL, "verify-receipt", "--genesis", GENESIS, receipt], capture_output=True, text=True)
    if v.returncode != 0:
        fail(f"trialctl verify-receipt refuses the withdrawal receipt: {v.stdout}{v.stderr}")
    shot(phone, "flow-5-participant-withdrawn", 390)
    print(f"3. participant.html with the downloaded key: withdrew follow-up: {s[:90]}...; receipt verified by trialctl")


def regulator(site, participant, version):
    """Step 4: the regulator's timeline."""
    s = lib.sign_in(site, NODE, "timeline.html", REG_KEY, TRIAL, GENESIS, CHAIN)
    rows = timeline_rows(site)
    if not rows or any(r["verified"] != "yes" or r["mark"] != "✓ verified" for r in rows) \
            or f"All {len(rows)} events verified" not in s:
        fail(f"the regulator's timeline shows {len(rows)} rows, not verified: "
             f"{[(r['event'], r['mark']) for r in rows if r['verified'] != 'yes'][:3]}; status {s!r}")
    if site.find_element(By.CSS_SELECTOR, ".chain-id").text != CHAIN:
        fail("the timeline shows another chain id than the genesis's")
    Select(site.find_element(By.ID, "f-participant")).select_by_value(participant)
    mine = timeline_rows(site)
    kinds = [r["kind"] for r in mine]
    if kinds != ["consent.enrol", "consent.grant", "consent.withdraw"]:
        fail(f"the participant's rows: {[(r['kind'], r['event'][:60]) for r in mine]}, "
             "wanted the enrolment, the grant, the withdrawal")
    enrol, grant, wd = mine
    if not (enrol["height"] <= grant["height"] <= wd["height"]) or any(r["site"] != "site-a" for r in mine):
        fail(f"the participant's rows are not in commit order at site-a: {mine}")
    if (f"under version {version}: main study, follow-up" not in grant["event"]
            or "witnessed by" not in grant["event"] or "signature meaning: witness" not in grant["event"]
            or "investigator" not in grant["event"]):
        fail(f"the grant row: {grant['event']!r}")
    if "Consent withdrawn by" not in wd["event"] or ": follow-up; remaining: main study" not in wd["event"]:
        fail(f"the withdrawal row: {wd['event']!r}")
    shot(site, "flow-6-timeline-participant", SITE_W)
    site.find_element(By.CSS_SELECTOR, "#events tbody tr button.participant").click()
    heads = [th.text for th in site.find_elements(By.CSS_SELECTOR, "#consent-table thead th")]
    hist = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in site.find_elements(By.CSS_SELECTOR, "#consent-table tbody tr")]
    main, follow = heads.index("main study"), heads.index("follow-up")
    if (len(hist) != 2 or hist[0][1] != f"consent under version {version}: main study, follow-up"
            or hist[0][main] != "agreed" or hist[0][follow] != "agreed"
            or hist[1][1] != "withdrawal: follow-up" or hist[1][main] != "agreed" or hist[1][follow] != "—"):
        fail(f"the consent history: columns {heads}, rows {hist}")
    shot(site, "flow-7-consent-history", SITE_W)
    print(f"4. regulator: {len(rows)} rows, every mark verified; participant {participant[:16]}: "
          f"enrolled (h{enrol['height']}), granted (h{grant['height']}: {grant['event'][:70]}...), "
          f"withdrew (h{wd['height']}: {wd['event'][:70]}); consent history: grant then withdrawal")


def main():
    os.makedirs(OUT, exist_ok=True)
    site_dl, phone_dl = os.path.join(OUT, "site-downloads"), os.path.join(OUT, "phone-downloads")
    site = browser(SITE_W, site_dl)
    phone = browser(PHONE_W, phone_dl)
    try:
        key_path, participant, version = econsent_session(site, phone, phone_dl)
        withdraw(phone, key_path, phone_dl)
        regulator(site, participant, version)
    finally:
        site.quit()
        phone.quit()
    print("flow_browser: OK")


main()
