// common.mjs - what every page shares: the secure-context rule (docs/WEB.md) and messages.

// Why this page cannot use WebCrypto here, or null. Browsers give crypto.subtle (SHA-256,
// Ed25519) only to secure contexts: localhost, or HTTPS whose certificate names the host
// (docs/WEB.md). Without it nothing can be verified (nor signed), and
// the page says so instead of showing unverified data.
export function secureContextProblem() {
    if (globalThis.isSecureContext && globalThis.crypto && globalThis.crypto.subtle) return null;
    return "This page is not in a secure context, so the browser gives it no WebCrypto and it "
        + "cannot verify anything. Open it over HTTPS, at a name the node's certificate carries, "
        + "or on the node's own machine as http://localhost or http://127.0.0.1.";
}

// Show a message in the status region: kind "error", "warning" or "info".
export function say(kind, text) {
    const status = document.getElementById("status");
    status.replaceChildren();
    if (!text) return;
    const p = document.createElement("p");
    p.className = kind;
    p.textContent = text;
    status.append(p);
}

// An element with text and optional class (no innerHTML anywhere: data is never markup).
export function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (className) e.className = className;
    return e;
}
