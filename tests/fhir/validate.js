// validate.js BUNDLE [--expect-invalid] - every resource of a trialreg FHIR export, checked by
// FHIR.js (the npm package `fhir`, its R4 definitions: structure, cardinality, types, required
// value sets; written by Lantana Consulting Group, not here) and, since R4's own ppc-2..ppc-5
// expressions cannot fail as written and FHIR.js evaluates no invariant, by their intent:
//   ppc-2..5  a Consent with scope research (or privacy, adr, treatment) names its patient;
//   per-1     every Period's start is at or before its end;
//   ids       [A-Za-z0-9-.]{1,64}, unique per resource type;
//   refs      every literal reference "Type/id" names a resource of the Bundle (a collection);
// A file that is one resource, not a Bundle, is validated alone.
//   Consent   exactly one root provision (an object, not an array).
// Prints each problem; exit 0 if none. --expect-invalid: exit 0 only if problems were found.
// --break: the checks' own test. Each deliberate break of one resource of the (valid) Bundle
// must be reported, at the place it was made, or the green result above means nothing.
'use strict';
const fs = require('fs');
const { Fhir } = require('fhir');
const fhir = new Fhir(); // R4 (4.0.x) definitions, the package's default

function walk(node, path, fn) {
  fn(node, path);
  if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}[${i}]`, fn));
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`, fn);
}

function intents(r, ids) {
  const out = [];
  const where = `${r.resourceType}/${r.id}`;
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(r.id)) out.push(`${where}: id is not an R4 id of at most 64 characters`);
  if (r.resourceType === 'Consent') {
    const scopes = ((r.scope || {}).coding || []).map((c) => c.code);
    if (['privacy', 'research', 'adr', 'treatment'].some((s) => scopes.includes(s)) && !(r.patient && r.patient.reference))
      out.push(`${where}: ppc-2..5 intent: a ${scopes.join(',')} Consent names no patient`);
    if (Array.isArray(r.provision)) out.push(`${where}: more than one root provision (R4: 0..1)`);
  }
  walk(r, r.resourceType, (v, path) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.start === 'string' && typeof v.end === 'string'
        && Date.parse(v.start) > Date.parse(v.end))
      out.push(`${where}: per-1 intent: ${path} starts after it ends (${v.start} > ${v.end})`);
    if (v && typeof v === 'object' && typeof v.reference === 'string' && ids && !ids.has(v.reference))
      out.push(`${where}: ${path}.reference ${v.reference} names no resource of the Bundle`);
  });
  return out;
}

function check(bundle) {
  const problems = [];
  if (bundle.resourceType !== 'Bundle') { // one resource (a read, a CapabilityStatement, an OperationOutcome)
    for (const m of fhir.validate(bundle, { errorOnUnexpected: true }).messages)
      if (m.severity === 'error') problems.push(`${bundle.resourceType}/${bundle.id}: ${m.location}: ${m.message}`);
    // a resource alone may have no id (an OperationOutcome); one it has must be an R4 id
    problems.push(...intents(bundle, null).filter((p) => bundle.id !== undefined || !/id is not/.test(p)));
    return { problems, count: 1 };
  }
  const entries = bundle.entry || [];
  const ids = new Set();
  for (const e of entries) {
    const key = `${e.resource.resourceType}/${e.resource.id}`;
    if (ids.has(key)) problems.push(`${key}: two resources with one id`);
    ids.add(key);
  }
  const top = fhir.validate(bundle, { errorOnUnexpected: true });
  for (const m of top.messages) if (m.severity === 'error') problems.push(`Bundle: ${m.location}: ${m.message}`);
  for (const e of entries) {
    const r = e.resource;
    const res = fhir.validate(r, { errorOnUnexpected: true });
    for (const m of res.messages) if (m.severity === 'error') problems.push(`${r.resourceType}/${r.id}: ${m.location}: ${m.message}`);
    problems.push(...intents(r, bundle.type === 'collection' ? ids : null));
  }
  return { problems, count: entries.length };
}

// [name, resource type, mutation, what the report must contain]
const BREAKS = [
  ['a Consent without status', 'Consent', (r) => { delete r.status; }, 'Consent.status: Missing property'],
  ['a ResearchSubject with a non-R4 status', 'ResearchSubject', (r) => { r.status = 'active'; }, 'ResearchSubject.status: Code "active" not found'],
  ['two root provisions', 'Consent', (r) => { r.provision = [r.provision, { type: 'permit' }]; }, 'Consent.provision.0: Unexpected property'],
  ['an R5 element (ResearchStudy.label)', 'ResearchStudy', (r) => { r.label = [{ value: 'x' }]; }, 'ResearchStudy.label: Unexpected property'],
  ['a Provenance signature without who', 'Provenance', (r) => { delete r.signature[0].who; }, 'who: Missing property'],
  ['a Consent without patient (ppc-3 intent)', 'Consent', (r) => { delete r.patient; }, 'ppc-2..5 intent'],
  ['a provision period ending before it starts (per-1 intent)', 'Consent',
    (r) => { const p = r.provision.provision[0].period; p.end = '2000-01-01T00:00:00.000Z'; }, 'per-1 intent'],
  ['an id of 65 characters', 'Patient', (r) => { r.id = 'p'.repeat(65); }, 'id is not an R4 id'],
  ['a reference to no resource of the Bundle', 'ResearchSubject', (r) => { r.study.reference = 'ResearchStudy/nowhere'; }, 'names no resource'],
  ['an AuditEvent without its required recorded', 'AuditEvent', (r) => { delete r.recorded; }, 'AuditEvent.recorded: Missing property'],
  ['a Group with a code that is not R4 group-type', 'Group', (r) => { r.type = 'people'; }, 'Group.type: Code "people" not found'],
];

function selfTest(bundle) {
  let failed = 0;
  for (const [name, type, mutate, want] of BREAKS) {
    const b = JSON.parse(JSON.stringify(bundle));
    const e = b.entry.find((x) => x.resource.resourceType === type);
    if (!e) { console.log(`fhir-validate: break: no ${type} to break`); failed++; continue; }
    mutate(e.resource);
    const { problems } = check(b);
    const hit = problems.find((p) => p.includes(want));
    console.log(`fhir-validate: break: ${name}: ${hit ? 'caught: ' + hit : 'NOT CAUGHT'}`);
    if (!hit) failed++;
  }
  return failed;
}

const args = process.argv.slice(2);
const expectInvalid = args.includes('--expect-invalid');
const file = args.find((a) => !a.startsWith('--'));
const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
if (args.includes('--break')) process.exit(selfTest(bundle) === 0 ? 0 : 1);
const { problems, count } = check(bundle);
for (const p of problems) console.log(`fhir-validate: ${p}`);
if (expectInvalid) {
  console.log(`fhir-validate: ${file}: ${problems.length} problem(s) found, as expected`);
  process.exit(problems.length > 0 ? 0 : 1);
}
console.log(`fhir-validate: ${file}: ${count} resources, ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
