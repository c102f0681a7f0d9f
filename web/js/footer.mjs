// footer.mjs - the page bundle's hash in the footer: SHA-256 of /app/SHA256SUMS (the
// canonical listing of the bundle's files, docs/WEB.md), computed here with WebCrypto. It is
// what this server says its bundle is; a person checks it against their own validator's
// `trialnode --version`, and the files against the listing with sha256sum (docs/WEB.md).
import { secureContextProblem } from "./common.mjs";

async function showBundleHash() {
    const out = document.getElementById("bundle");
    if (!out) return;
    const problem = secureContextProblem();
    if (problem) { out.textContent = "not computed (no WebCrypto here)"; return; }
    try {
        const response = await fetch("SHA256SUMS", { cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const listing = new Uint8Array(await response.arrayBuffer());
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", listing));
        out.textContent = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    } catch (e) {
        out.textContent = `not computed: the listing could not be read (${e.message})`;
    }
}
showBundleHash();
