// governance_words_test.mjs - the timeline page's words for an authority change (issue 23,
// docs/FORMATS.md 5.11): web/js/ledger.mjs decodes the governance.authority event (canonical
// msgpack [action, role, site, name, key]) from the verified receipt file and describes it;
// a rotation reads "Revoked ...; Added ...". Data that is no such event gives no words.
import assert from "node:assert/strict";
import { encode } from "../../web/js/msgpack.mjs";
import { describe, eventFields } from "../../web/js/ledger.mjs";

const key = (b) => new Uint8Array(32).fill(b);
const change = (action, role, site, name, k) => ({ topic: "governance.authority", data: encode([action, role, site, name, k]) });
const genesis = { authorities: [{ role: 1, site: "", name: "sponsor", key: key(1) }], validators: [] };
const file = (events) => ({ tx: { contract: "governance", method: "authority", signer: key(1), cosigs: [] },
                            receipt: { status: 0, reason: "", events } });

const f = eventFields(change(1, 4, "", "researcher-2", key(7)));
assert.deepEqual(f, { action: 1, role: 4, site: "", name: "researcher-2", key: "07".repeat(32) });
let d = describe(genesis, file([change(1, 4, "", "researcher-2", key(7))]), new Map());
assert.equal(d.title, 'Added researcher "researcher-2", key 0707070707070707');
d = describe(genesis, file([change(2, 2, "site-a", "investigator-a", key(8)), change(1, 2, "site-a", "investigator-a", key(9))]), new Map());
assert.equal(d.title, 'Revoked investigator "investigator-a" of site site-a, key 0808080808080808; '
                    + 'Added investigator "investigator-a" of site site-a, key 0909090909090909');
assert.deepEqual(eventFields({ topic: "governance.authority", data: new Uint8Array([1, 2, 3]) }), {});
d = describe(genesis, file([{ topic: "governance.authority", data: new Uint8Array([0x90]) }]), new Map());
assert.equal(d.title, "governance.authority", "no words for data that is no change");
console.log("governance_words_test: OK");
