// validate_responses.mjs OPENAPI_YAML MANIFEST
// Checks real responses of a validator's HTTP API against docs/openapi.yaml: each manifest
// line is "METHOD PATH STATUS CONTENT_TYPE FILE"; the file's body must match the schema the
// document gives for that operation, status and content type (JSON Schema 2020-12, Ajv).
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
  const [method, concrete, status, type, file] = line.split(' ');
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
}
console.log(`${checked} responses checked against ${docPath}, ${failures} failed`);
process.exit(failures || checked === 0 ? 1 : 0);
