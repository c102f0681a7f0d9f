// httpsig.mjs - signed reads, RFC 9421 HTTP Message Signatures in the profile of
// docs/HTTP.md: label sig1, components "@method" "@path" "@query" (and "content-digest",
// RFC 9530 sha-256, when there is a body), then created, keyid (the signer's public key in
// hex), alg "ed25519", tag "trialreg-v1-<chain id hex>" (binds the chain) and a random nonce
// (16 bytes, hex: the same request signed twice in one second is two signatures). The
// signature base is RFC 9421 section 2.5's. Each request is signed afresh (the node keeps a
// replay cache), so signedFetch signs every call.
import { sign } from "./keys.mjs";

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

// The headers that sign a request: {"Signature-Input", "Signature"[, "Content-Digest"]}.
// url: absolute (a URL or string); body: Uint8Array or null; chainId: 32 bytes.
export async function signatureHeaders(key, chainId, method, url, body = null, created = null) {
    const u = new URL(url, globalThis.location ? globalThis.location.href : undefined);
    const when = created ?? Math.floor(Date.now() / 1000);
    const headers = {};
    const components = ['"@method"', '"@path"', '"@query"'];
    const lines = [`"@method": ${method.toUpperCase()}`, `"@path": ${u.pathname}`,
        `"@query": ${u.search === "" ? "?" : u.search}`];
    if (body !== null && body !== undefined) {
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
        headers["Content-Digest"] = `sha-256=:${toBase64(digest)}:`;
        components.push('"content-digest"');
        lines.push(`"content-digest": ${headers["Content-Digest"]}`);
    }
    const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const params = `(${components.join(" ")});created=${when};keyid="${key.publicHex}"`
        + `;alg="ed25519";tag="trialreg-v1-${toHex(chainId)}";nonce="${nonce}"`;
    lines.push(`"@signature-params": ${params}`);
    const base = new TextEncoder().encode(lines.join("\n"));
    headers["Signature-Input"] = `sig1=${params}`;
    headers["Signature"] = `sig1=:${toBase64(await sign(key, base))}:`;
    return headers;
}

// fetch(), signed: options as fetch's (method, headers, body as Uint8Array).
export async function signedFetch(key, chainId, url, options = {}) {
    const method = options.method || "GET";
    const body = options.body === undefined ? null : options.body;
    const sig = await signatureHeaders(key, chainId, method, url, body);
    return fetch(url, { ...options, method, headers: { ...(options.headers || {}), ...sig } });
}
