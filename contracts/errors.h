/*
 * errors.h - the contracts' refusal codes, ONE table for the assembly and the executor.
 *
 *   X(NAME, code, "reason a person can read")
 *
 * A contract refuses with `abort rA` where R[A] holds one of these codes; the executor
 * puts the code and its reason into the receipt (status RECEIPT_REFUSED). contracts/common.s
 * declares the same codes as `.int E_NAME code` constants; tests/contracts checks that the
 * two lists agree, so they cannot drift. contracts/ABI.md explains when each is raised.
 */
#ifndef TRIALREG_CONTRACT_ERRORS_H
#define TRIALREG_CONTRACT_ERRORS_H

#define CONTRACT_ERRORS(X)                                                                   \
    X(NOT_SPONSOR, 101, "only the trial's sponsor may do this")                              \
    X(NOT_REGULATOR, 102, "only a regulator or ethics committee may approve a version")      \
    X(NOT_INVESTIGATOR, 103, "only a site investigator may do this")                         \
    X(NOT_PARTICIPANT, 104, "only the participant may grant or withdraw their own consent")  \
    X(NOT_RESEARCHER, 105, "only a researcher may request data access")                      \
    X(BAD_ARG, 110, "an argument has the wrong type, length or range (see ABI.md)")          \
    X(TRIAL_EXISTS, 111, "a trial with this id is already registered")                       \
    X(NO_TRIAL, 112, "no trial with this id")                                                \
    X(NO_VERSION, 113, "no such protocol version")                                           \
    X(ALREADY_APPROVED, 114, "this protocol version is already approved")                    \
    X(NO_SITE, 115, "this site is not listed in the trial")                                  \
    X(SITE_INACTIVE, 116, "this site is not active in the trial")                            \
    X(SITE_ACTIVE, 117, "this site is already active")                                       \
    X(VERSION_UNAPPROVED, 118, "the protocol version is not approved")                       \
    X(VERSION_SUPERSEDED, 119, "the version is superseded by an amendment requiring re-consent") \
    X(ALREADY_ENROLLED, 120, "this key is already enrolled")                                 \
    X(NOT_ENROLLED, 121, "the participant is not enrolled in this trial")                    \
    X(WRONG_SITE, 122, "the investigator is not at the participant's enrolling site")        \
    X(NO_WITNESS, 123, "consent needs a witness co-signature by an investigator of the enrolling site") \
    X(BAD_SCOPES, 124, "scopes must be a non-empty set of the five scope bits (one bit where one scope is asked)") \
    X(NOT_GRANTED, 125, "none of these scopes is currently granted")                         \
    X(NO_CONSENT, 126, "no valid consent for this scope at collected-at")                    \
    X(RECONSENT_NEEDED, 127, "consent predates an approved amendment requiring re-consent")  \
    X(FUTURE_DATA, 128, "collected-at is not before the block time")                         \
    X(STALE_DATA, 129, "collected-at is earlier than the anchoring window before the block time") \
    X(DUPLICATE, 130, "this content hash is already anchored in the trial")                  \
    X(TOO_MANY, 131, "the result exceeds its documented bound")                              \
    X(ROLE_TAKEN, 132, "this key already holds another role (a genesis authority or a validator); a key may hold one role only") \
    X(ZERO_KEY, 133, "the all-zero key is not a participant key")                            \
    X(FORM_UNAPPROVED, 134, "the consent form is not an approved consent form of this protocol version") \
    X(NOT_APPROVED, 135, "no protocol version of this trial is approved yet")                \
    X(NO_APPROVAL, 136, "needs a regulator's co-signature with meaning approval")            \
    X(NO_KEY_PROOF, 137, "the new key must co-sign its own re-binding (meaning approval)")   \
    X(REBIND_PENDING, 138, "a re-binding of this participant is already pending")            \
    X(NO_REBIND, 139, "no pending re-binding of this participant")                          \
    X(REBIND_VETOED, 140, "the participant's old key vetoed this re-binding")                \
    X(REBIND_DELAY, 141, "the re-binding's delay (the genesis's rebind_delay_ms) has not elapsed")

enum contract_error {
#define CONTRACT_X_ENUM(name, code, reason) CONTRACT_E_##name = code,
    CONTRACT_ERRORS(CONTRACT_X_ENUM)
#undef CONTRACT_X_ENUM
};

#endif
