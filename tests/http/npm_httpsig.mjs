// npm_httpsig.mjs - RFC 9421 by an independent implementation from npm
// (http-message-signatures, its own signature base and structured fields), against ours.
// Copied beside its packages (WORKDIR/npm) by npm_httpsig_check.sh; nothing here builds a
// signature base itself: the library does, from the request.
//
//   node npm_httpsig.mjs verify HEADERS_FILE METHOD URL GENESIS [BODY_FILE]
//       Verify header fields printed by `trialctl http-sign` (HEADERS_FILE: "Name: value"
//       lines) with the library; also the project's profile (docs/HTTP.md): @method, @path,
//       @query (and content-digest with a body) covered, alg ed25519, keyid the signer's key,
//       tag "trialreg-v1-" + SHA-256 of the genesis, Content-Digest the body's SHA-256.
//       Prints "npm verify OK" and exits 0, or the reason and exits 1.
//   node npm_httpsig.mjs sign KEY_FILE GENESIS METHOD URL [BODY_FILE]
//       Sign the request with the library (Ed25519 key from a trialreg secret key file's
//       seed) and print the header fields to send ("Name: value" lines, for curl -H @FILE);
//       with NPM_HTTPSIG_DEFAULTS=1 the library's default label and parameters (and the tag).
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { httpbis, createSigner, createVerifier, defaultParams } = require('http-message-signatures');

const fail = (why) => { console.log(`npm_httpsig: ${why}`); process.exit(1); };
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
const contentDigest = (body) => `sha-256=:${sha256(body).toString('base64')}:`;
const chainTag = (genesisFile) => `trialreg-v1-${sha256(readFileSync(genesisFile)).toString('hex')}`;

// An Ed25519 key as node's KeyObject, from its raw 32 bytes (RFC 8410 DER prefixes).
const privateKeyOf = (seed) => createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der', type: 'pkcs8' });
const publicKeyOf = (raw) => createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]),
    format: 'der', type: 'spki' });

// A trialreg secret key file (docs/FORMATS.md 6.3): the seed and the public key.
function readKeyFile(path) {
    const m = readFileSync(path, 'ascii').match(
        /^trialreg-ed25519-secret-v1\nseed ([0-9a-f]{64})\npublic ([0-9a-f]{64})\n$/);
    if (!m) fail(`${path} is not a trialreg secret key file`);
    return { seed: Buffer.from(m[1], 'hex'), publicHex: m[2] };
}

function readHeaders(path) {
    const headers = {};
    for (const line of readFileSync(path, 'ascii').split('\n')) {
        if (!line) continue;
        const at = line.indexOf(': ');
        if (at < 0) fail(`not a header line: ${line}`);
        headers[line.slice(0, at)] = line.slice(at + 2);
    }
    return headers;
}

async function verify([headersFile, method, url, genesis, bodyFile]) {
    const headers = readHeaders(headersFile);
    const body = bodyFile ? readFileSync(bodyFile) : null;
    const required = ['@method', '@path', '@query', ...(body ? ['content-digest'] : [])];
    let seen = null;
    const ok = await httpbis.verifyMessage({
        requiredFields: required,
        requiredParams: ['created', 'keyid', 'alg', 'tag'],
        maxAge: 300,
        keyLookup: async (params) => {
            seen = params;
            if (!/^[0-9a-f]{64}$/.test(params.keyid ?? '')) return null;
            return { id: params.keyid, algs: ['ed25519'],
                     verify: createVerifier(publicKeyOf(Buffer.from(params.keyid, 'hex')), 'ed25519') };
        },
    }, { method, url, headers });
    if (ok !== true) fail(`the library does not verify the signature (${ok})`);
    if (seen.alg !== 'ed25519') fail(`alg is ${seen.alg}`);
    if (seen.tag !== chainTag(genesis)) fail(`the tag ${seen.tag} is not this genesis's chain`);
    if (body && headers['Content-Digest'] !== contentDigest(body)) fail('Content-Digest is not the body\'s SHA-256');
    console.log('npm verify OK');
}

async function sign([keyFile, genesis, method, url, bodyFile]) {
    const key = readKeyFile(keyFile);
    const body = bodyFile ? readFileSync(bodyFile) : null;
    const headers = body ? { 'Content-Digest': contentDigest(body) } : {};
    // NPM_HTTPSIG_DEFAULTS=1: the library's own label and parameters (its order, with an
    // expires), plus the tag; else our profile's order, as trialctl http-sign writes it
    const defaults = process.env.NPM_HTTPSIG_DEFAULTS === '1';
    const signed = await httpbis.signMessage({
        key: createSigner(privateKeyOf(key.seed), 'ed25519', key.publicHex),
        name: defaults ? undefined : 'sig1',
        fields: ['@method', '@path', '@query', ...(body ? ['content-digest'] : [])],
        params: defaults ? [...defaultParams, 'tag'] : ['created', 'keyid', 'alg', 'tag'],
        paramValues: { tag: chainTag(genesis) },
    }, { method, url, headers });
    for (const [name, value] of Object.entries(signed.headers)) console.log(`${name}: ${value}`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'verify' && args.length >= 4) await verify(args);
else if (mode === 'sign' && args.length >= 4) await sign(args);
else fail('usage: npm_httpsig.mjs verify HEADERS METHOD URL GENESIS [BODY] | sign KEY GENESIS METHOD URL [BODY]');
