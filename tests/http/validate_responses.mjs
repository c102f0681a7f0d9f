// validate_responses.mjs OPENAPI_YAML MANIFEST
// Checks real responses of a validator's HTTP API against docs/openapi.yaml: each manifest
// line is "METHOD PATH STATUS CONTENT_TYPE FILE [HEADERS_FILE]"; the file's body must match the
// schema the document gives for that operation, status and content type (JSON Schema 2020-12,
// Ajv), and with HEADERS_FILE (curl -D) every response header the document marks required
// must be there, each documented one matching its schema.
// Exit 0 if every one does; 1, naming each response that does not, otherwise.
import fs from 'node:fs';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';

const [docPath, manifestPath] = process.argv.slice(2);
const doc = YAML.parse(fs.readFileSync(docPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, 'openapi');

const escape = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
let failures = 0;
let checked = 0;
for (const line of fs.readFileSync(manifestPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [method, concrete, status, type, file, headersFile] = line.split(' ');
  // the document's path whose template ({name} = one segment) matches the concrete path
  const path = Object.keys(doc.paths).find((p) =>
    new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$').test(concrete)) ?? concrete;
  const op = doc.paths?.[path]?.[method.toLowerCase()];
  let response = op?.responses?.[status];
  let pointer = `openapi#/paths/${escape(path)}/${method.toLowerCase()}/responses/${status}`;
  if (response?.$ref) {
    pointer = 'openapi' + response.$ref;
    response = response.$ref.split('/').slice(1).reduce((o, k) => o[k], doc);
  }
  const media = response?.content?.[type];
  if (!media) {
    console.log(`FAIL ${method} ${path} ${status} ${type}: the document describes no such response`);
    failures++;
    continue;
  }
  const body = fs.readFileSync(file, 'utf8');
  let value = body;
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      value = JSON.parse(body);
    } catch (e) {
      console.log(`FAIL ${method} ${path} ${status}: not JSON: ${e.message}`);
      failures++;
      continue;
    }
  }
  const validate = ajv.getSchema(`${pointer}/content/${escape(type)}/schema`);
  checked++;
  if (!validate(value)) {
    console.log(`FAIL ${method} ${path} ${status} ${type}: ${ajv.errorsText(validate.errors)}`);
    failures++;
  }
  if (headersFile) failures += checkHeaders(`${method} ${path} ${status}`, response, pointer, headersFile);
}

// The documented headers of a response against the ones received (curl -D's file); the
// number of failures.
function checkHeaders(what, response, pointer, headersFile) {
  const got = {};
  for (const l of fs.readFileSync(headersFile, 'utf8').split(/\r?\n/)) {
    const i = l.indexOf(':');
    if (i > 0) got[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let failed = 0;
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const text = got[name.toLowerCase()];
    if (text === undefined) {
      if (header.required) {
        console.log(`FAIL ${what}: the required header ${name} is missing`);
        failed++;
      }
      continue;
    }
    const value = header.schema?.type === 'integer' && /^[0-9]+$/.test(text) ? Number(text) : text;
    const validate = ajv.getSchema(`${pointer}/headers/${escape(name)}/schema`);
    if (!validate(value)) {
      console.log(`FAIL ${what}: header ${name}: ${text}: ${ajv.errorsText(validate.errors)}`);
      failed++;
    }
  }
  return failed;
}
console.log(`${checked} responses checked against ${docPath}, ${failures} failed`);
process.exit(failures || checked === 0 ? 1 : 0);
