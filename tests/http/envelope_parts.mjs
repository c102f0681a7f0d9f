// envelope_parts.mjs - the signed parts of an e-consent envelope, made in Node as a
// participant's and an investigator's devices make them in the browser (test-only; used by
// openapi_check.sh to give the envelope endpoints real answers):
//   node envelope_parts.mjs body GENESIS PARTICIPANT.key TRIAL VERSION FORM_HEX SCOPES
//        -> {"body": base64 consent.grant tx body, "sig": the participant's signature hex}
//   node envelope_parts.mjs witness GENESIS INVESTIGATOR.key BODY_BASE64
//        -> the investigator's witness co-signature (meaning 4), hex
// Keys are FORMATS 6.3 key files; the chain id is SHA-256 of the genesis file.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { encode } from '../../web/js/msgpack.mjs';

const [mode, genesisPath, keyPath, ...rest] = process.argv.slice(2);
const chain = crypto.createHash('sha256').update(fs.readFileSync(genesisPath)).digest();
const text = fs.readFileSync(keyPath, 'utf8');
const seed = Buffer.from(/^seed ([0-9a-f]{64})$/m.exec(text)[1], 'hex');
const pub = Buffer.from(/^public ([0-9a-f]{64})$/m.exec(text)[1], 'hex');
const key = crypto.createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
  format: 'der', type: 'pkcs8' });
const sign = (tag, body) => crypto.sign(null, Buffer.concat([Buffer.from(tag), chain, body]), key);

if (mode === 'body') {
  const [trial, version, formHex, scopes] = rest;
  const nonce = BigInt('0x' + crypto.randomBytes(8).toString('hex'));
  const body = Buffer.from(encode([pub, nonce, Date.now() + 10 * 60 * 1000, 'consent', 'grant',
    [new TextEncoder().encode(trial), Number(version), Buffer.from(formHex, 'hex'), Number(scopes)]]));
  console.log(JSON.stringify({ body: body.toString('base64'), sig: sign('trialreg/v1/tx', body).toString('hex') }));
} else if (mode === 'witness') {
  const body = Buffer.from(rest[0], 'base64');
  const hash = crypto.createHash('sha256').update(body).digest();
  console.log(sign('trialreg/v1/cosig', Buffer.from(encode([hash, 4, pub]))).toString('hex'));
} else {
  console.error('usage: envelope_parts.mjs body|witness ...');
  process.exit(2);
}
