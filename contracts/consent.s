; consent.s - enrolment, consent grant and withdrawal. T = lp(trial id), pk = 32-byte key.
;   consent/pk/pk          T      (the one trial a pseudonymous key is enrolled in)
;   consent/e/T pk         site   (the enrolling site)
;   consent/s/T pk         scopes:8 version:8 since:8 entries:8   (current status)
;   consent/h/T pk n:8     kind:8 time:8 scopes_after:8 version:8 form:32 witness:32 meaning:8
;                          [flags:8 other:32]  (kinds: 1 grant, 2 withdrawal (zero form/witness),
;                          3 withdrawal recorded by the site (form = the request's hash, witness =
;                          the investigator, other = the approving regulator), 4 re-bound from
;                          another key (form = the request's hash, witness = other = the old key),
;                          5 re-bound away (scopes 0, witness = the new key); flags bit 0: the key
;                          took over another key's consent by re-binding (other = that key).
;                          Grants and withdrawals of keys never re-bound keep the 104 bytes)
;   consent/n/T            enrolled:8   (keys enrolled in the trial; beyond planned: flagged)
;   consent/r/T old        new:32 requested_at:8 effective_at:8 state:8 investigator:32
;                          regulator:32 request:32   (the latest re-binding of old; state 1
;                          pending, 2 vetoed by the old key, 3 completed)
;   consent/rn/new         lp(T) old:32  (a pending re-binding's new key: reserved)
;   consent/x/old          lp(T) new:32  (a key re-bound away: it holds no role, for good)
;   consent/b/T new        old:32        (the key took over old's consent by re-binding)
.bytes K_PK "consent/pk/"
.bytes K_ENROL "consent/e/"
.bytes K_VERSION "protocol/v/"
.bytes K_FORMS "protocol/f/"
.bytes K_COUNT "consent/n/"
.bytes G_VALIDATOR "genesis/validator/"
.bytes TOP_OVER "consent.flag.over_enrolment"
.bytes ZERO32 x"0000000000000000000000000000000000000000000000000000000000000000"
.bytes TOP_ENROLLED "consent.enrolled"
.bytes TOP_GRANTED "consent.granted"
.bytes TOP_WITHDRAWN "consent.withdrawn"
.bytes TOP_SITE_WITHDRAWN "consent.withdrawn_by_site"
.bytes TOP_REBIND_REQUESTED "consent.rebind_requested"
.bytes TOP_REBIND_VETOED "consent.rebind_vetoed"
.bytes TOP_REBOUND "consent.rebound"
.bytes TOP_REBOUND_GRANT "consent.flag.after_rebinding"
.bytes K_REBIND "consent/r/"
.bytes K_RESERVED "consent/rn/"
.bytes K_RETIRED "consent/x/"
.bytes K_BOUND "consent/b/"
.bytes G_REBIND_DELAY "genesis/rebind_delay"   ; the genesis rules' rebind_delay_ms:8

; enrol(trial, participant_key) -> 1. An investigator of an active site enrols a key.
;@abi enrol bytes bytes
.func enrol 2 24 export
    call r6, caller_site, 0
    move r19, r6                ; site
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6                ; T
    move r6, r1
    call r6, check_32, 1
    loads r6, ZERO32            ; the all-zero key is nobody's key
    eq r6, r6, r1
    jz r6, nonzero
    loadk r6, E_ZERO_KEY
    abort r6
nonzero:
    move r6, r20
    call r6, trial_rec, 1
    move r18, r6                ; trial record
    loadk r7, E_VERSION_UNAPPROVED
    call r6, require_approved, 2
    move r6, r20
    move r7, r19
    call r6, require_active_site, 2
    loads r6, G_AUTH            ; one role per key: no authority key is a participant,
    concat r6, r6, r1           ; nor a validator's
    host r6, get, r6
    type r6, r6
    jnz r6, taken
    loads r6, G_VALIDATOR
    concat r6, r6, r1
    host r6, get, r6
    type r6, r6
    jnz r6, taken
    loads r6, K_RETIRED         ; nor a key re-bound away, nor a pending re-binding's new key
    move r7, r1
    call r6, present, 2
    jnz r6, taken
    loads r6, K_RESERVED
    move r7, r1
    call r6, present, 2
    jz r6, notauth
taken:
    loadk r6, E_ROLE_TAKEN
    abort r6
notauth:
    loads r6, K_PK
    concat r21, r6, r1
    host r6, get, r21
    type r6, r6
    jz r6, fresh
    loadk r6, E_ALREADY_ENROLLED
    abort r6
fresh:
    move r22, r20
    host r6, put, r21
    loads r6, K_ENROL
    concat r6, r6, r20
    concat r21, r6, r1
    move r22, r19
    host r6, put, r21
    loads r21, TOP_ENROLLED
    concat r22, r20, r1
    concat r22, r22, r19
    host r6, emit, r21
    loads r6, K_COUNT           ; enrolment count; beyond the planned number it is flagged
    concat r6, r6, r20
    call r6, bump, 1
    addi r17, r6, 1
    move r6, r18
    loadi r7, 32
    call r6, int_at, 2          ; planned
    move r16, r6
    lt r6, r16, r17
    jz r6, planned
    loads r6, TOP_OVER
    move r7, r20
    move r8, r17
    move r9, r16
    call r6, emit_ints, 4
planned:
    loadi r6, 1
    ret r6

; witness(site) -> index of a co-signer that is an investigator of site with meaning
; witness; aborts WRONG_SITE if only other sites' investigators co-signed, NO_WITNESS if none
.func witness 1 12
    host r1, cosigners
    loadi r2, 0                 ; i
    loadi r3, 0                 ; saw an investigator of another site
loop:
    lt r4, r2, r1
    jz r4, none
    host r5, cosigner_key, r2
    call r5, inv_site, 1
    type r6, r5
    jz r6, next
    eq r6, r5, r0
    jnz r6, samesite
    loadi r3, 1
    jmp next
samesite:
    host r6, cosigner_meaning, r2
    loadk r7, MEANING_WITNESS
    eq r6, r6, r7
    jz r6, next
    ret r2
next:
    addi r2, r2, 1
    jmp loop
none:
    jz r3, nowitness
    loadk r4, E_WRONG_SITE
    abort r4
nowitness:
    loadk r4, E_NO_WITNESS
    abort r4

; enrolled_site(T) -> the caller's enrolling site, or abort NOT_ENROLLED
.func enrolled_site 1 4
    loads r1, K_ENROL
    concat r1, r1, r0
    host r2, caller
    concat r1, r1, r2
    loadk r2, E_NOT_ENROLLED
    call r1, must_get, 2
    ret r1

; record_change(T, key, status_or_0, kind, scopes, version, rest, pk) -> 1: writes pk's
; history entry n (n = the status' entries, 0 without a status): kind:8 time:8 scopes:8
; version:8 .. rest, then the status under key: scopes:8 version:8 time:8 (n+1):8
.func record_change 8 16
    loadi r8, 0                 ; n
    type r9, r2
    jz r9, first
    move r9, r2
    loadi r10, 24
    call r9, int_at, 2
    move r8, r9
first:
    itob r9, r3                 ; history entry
    host r10, time
    itob r10, r10
    concat r9, r9, r10
    itob r10, r4
    concat r9, r9, r10
    itob r10, r5
    concat r9, r9, r10
    concat r15, r9, r6
    loads r9, K_HISTORY
    concat r9, r9, r0
    concat r9, r9, r7
    itob r10, r8
    concat r14, r9, r10
    host r9, put, r14
    addi r8, r8, 1
    itob r9, r4                 ; status
    itob r10, r5
    concat r9, r9, r10
    host r10, time
    itob r10, r10
    concat r9, r9, r10
    itob r10, r8
    concat r15, r9, r10
    move r14, r1
    host r9, put, r14
    loadi r9, 1
    ret r9

; grant(trial, version, form_hash, scopes) -> scopes. Signed by the participant, co-signed
; (meaning witness) by an investigator of the enrolling site.
;@abi grant bytes int bytes int
.func grant 4 28 export
    loadk r6, ROLE_PARTICIPANT
    loadk r7, E_NOT_PARTICIPANT
    move r8, r0
    call r6, role_trial, 3
    move r20, r6                ; T
    call r6, enrolled_site, 1
    move r19, r6                ; site
    move r6, r20
    move r7, r19
    call r6, require_active_site, 2
    move r6, r20
    call r6, trial_rec, 1
    move r18, r6                ; trial record
    move r6, r1
    loadi r7, 1
    loadk r8, TIME_MAX
    call r6, check_int, 3
    loads r6, K_VERSION
    concat r6, r6, r20
    itob r7, r1
    concat r6, r6, r7
    loadk r7, E_NO_VERSION
    call r6, must_get, 2
    loadi r7, 40
    call r6, int_at, 2          ; approved_at
    jnz r6, approved
    loadk r6, E_VERSION_UNAPPROVED
    abort r6
approved:
    move r6, r18
    loadi r7, 16
    call r6, int_at, 2          ; floor version
    lt r6, r1, r6
    jz r6, current
    loadk r6, E_VERSION_SUPERSEDED
    abort r6
current:
    move r6, r2
    call r6, check_32, 1
    loads r6, K_FORMS           ; the form must be one submitted with this version (and so
    concat r6, r6, r20          ; approved with it)
    itob r7, r1
    concat r6, r6, r7
    loadk r7, E_FORM_UNAPPROVED
    call r6, must_get, 2
    move r7, r2
    call r6, contains, 2
    jnz r6, form
    loadk r6, E_FORM_UNAPPROVED
    abort r6
form:
    move r6, r3
    call r6, check_scopes, 1
    move r6, r19
    call r6, witness, 1
    move r17, r6                ; witness index
    move r6, r20
    loads r7, K_STATUS
    concat r7, r7, r20
    host r8, caller
    concat r7, r7, r8           ; status key
    host r8, get, r7            ; status, if any
    loadi r9, 1                 ; kind: grant
    move r10, r3
    move r11, r1
    host r12, cosigner_key, r17
    concat r12, r2, r12         ; form .. witness
    host r13, cosigner_meaning, r17
    itob r13, r13
    concat r12, r12, r13        ; .. meaning:8
    loads r21, K_BOUND          ; the key it took over by re-binding, if any
    concat r21, r21, r20
    host r22, caller
    concat r21, r21, r22
    host r21, get, r21
    type r14, r21
    jz r14, unbound
    loadi r14, 1
    itob r14, r14
    concat r12, r12, r14        ; .. flags 1 (after a re-binding)
    concat r12, r12, r21        ; .. the old key
unbound:
    host r13, caller
    call r6, record_change, 8
    loads r6, TOP_GRANTED
    host r7, caller
    concat r7, r20, r7
    move r8, r1
    move r9, r3
    call r6, emit_ints, 4
    type r6, r21
    jz r6, granted
    loads r6, TOP_REBOUND_GRANT ; marked: a grant by a key that took over by re-binding
    host r7, caller
    concat r7, r20, r7
    concat r7, r7, r21
    host r6, emit, r6
granted:
    ret r3

; withdraw(trial, scopes) -> remaining scopes. The participant alone; forward-only.
;@abi withdraw bytes int
.func withdraw 2 28 export
    loadk r6, ROLE_PARTICIPANT
    loadk r7, E_NOT_PARTICIPANT
    move r8, r0
    call r6, role_trial, 3
    move r20, r6
    call r6, enrolled_site, 1
    move r6, r1
    call r6, check_scopes, 1
    loads r6, K_STATUS
    concat r6, r6, r20
    host r7, caller
    concat r21, r6, r7
    move r6, r21
    loadk r7, E_NOT_GRANTED
    call r6, must_get, 2
    move r16, r6                ; status
    loadi r7, 0
    call r6, int_at, 2
    move r15, r6                ; current scopes
    band r6, r15, r1
    jnz r6, granted
    loadk r6, E_NOT_GRANTED
    abort r6
granted:
    band r17, r15, r1           ; removed: asked for and granted
    bnot r6, r1
    band r15, r15, r6           ; remaining
    move r6, r16
    loadi r7, 8
    call r6, int_at, 2
    move r11, r6                ; version
    move r6, r20
    move r7, r21
    move r8, r16
    loadi r9, 2                 ; kind: withdrawal
    move r10, r15
    loads r12, ZERO32           ; no form, no witness, meaning 0
    concat r12, r12, r12
    loadi r13, 0
    itob r13, r13
    concat r12, r12, r13
    host r13, caller
    call r6, record_change, 8
    loads r6, TOP_WITHDRAWN
    host r7, caller
    concat r7, r20, r7
    move r8, r17
    move r9, r15
    call r6, emit_ints, 4
    ret r15

; ---- a participant who lost their key (issue 23 item 2) -------------------------------

; present(prefix, key) -> 1 if the state key prefix .. key exists, else 0
.func present 2 3
    concat r2, r0, r1
    host r2, get, r2
    type r2, r2
    ret r2

; key_free(key, reserved_ok) -> 1, or abort ROLE_TAKEN when key holds or is promised a
; role: a genesis authority, a validator, a participant, a key re-bound away, or (unless
; reserved_ok) the new key of a pending re-binding
.func key_free 2 5
    loads r2, G_AUTH
    move r3, r0
    call r2, present, 2
    jnz r2, taken
    loads r2, G_VALIDATOR
    move r3, r0
    call r2, present, 2
    jnz r2, taken
    loads r2, K_PK
    move r3, r0
    call r2, present, 2
    jnz r2, taken
    loads r2, K_RETIRED
    move r3, r0
    call r2, present, 2
    jnz r2, taken
    jnz r1, free
    loads r2, K_RESERVED
    move r3, r0
    call r2, present, 2
    jnz r2, taken
free:
    loadi r2, 1
    ret r2
taken:
    loadk r2, E_ROLE_TAKEN
    abort r2

; require_enrolled_at(T, pk, site) -> 1, or abort NOT_ENROLLED (pk holds no enrolment in T:
; never enrolled, or re-bound away) or WRONG_SITE (enrolled at another site than site)
.func require_enrolled_at 3 5
    loads r3, K_PK
    concat r3, r3, r1
    loadk r4, E_NOT_ENROLLED
    call r3, must_get, 2
    eq r3, r3, r0
    jz r3, notenrolled
    loads r3, K_ENROL
    concat r3, r3, r0
    concat r3, r3, r1
    loadk r4, E_NOT_ENROLLED
    call r3, must_get, 2
    eq r3, r3, r2
    jz r3, wrong
    loadi r3, 1
    ret r3
notenrolled:
    loadk r4, E_NOT_ENROLLED
    abort r4
wrong:
    loadk r4, E_WRONG_SITE
    abort r4

; regulator_approval() -> the index of a co-signer that is a regulator with meaning
; approval, or abort NO_APPROVAL
.func regulator_approval 0 5
    host r0, cosigners
    loadi r1, 0
loop:
    lt r2, r1, r0
    jz r2, none
    host r3, cosigner_role, r1
    loadk r4, ROLE_REGULATOR
    eq r3, r3, r4
    jz r3, next
    host r3, cosigner_meaning, r1
    loadk r4, MEANING_APPROVAL
    eq r3, r3, r4
    jz r3, next
    ret r1
next:
    addi r1, r1, 1
    jmp loop
none:
    loadk r2, E_NO_APPROVAL
    abort r2

; cosigned_by(key) -> 1 if key co-signed the tx with meaning approval, else 0
.func cosigned_by 1 6
    host r1, cosigners
    loadi r2, 0
loop:
    lt r3, r2, r1
    jz r3, no
    host r4, cosigner_key, r2
    eq r4, r4, r0
    jz r4, next
    host r4, cosigner_meaning, r2
    loadk r5, MEANING_APPROVAL
    eq r4, r4, r5
    jz r4, next
    loadi r3, 1
    ret r3
next:
    addi r2, r2, 1
    jmp loop
no:
    loadi r3, 0
    ret r3

; with_state(record, state) -> the re-binding record with its state:8 (offset 48) replaced
.func with_state 2 6
    loadi r3, 0
    loadi r4, 48
    slice r2, r0, r3
    itob r3, r1
    concat r2, r2, r3
    move r3, r0
    loadi r4, 56
    call r3, tail, 2
    concat r2, r2, r3
    ret r2

; site_withdraw(trial, participant, scopes, request) -> remaining scopes. On the
; participant's documented request (request: the 32-byte hash of the signed request kept at
; the site), an investigator of the participant's enrolling site, co-signed by a regulator
; with meaning approval, withdraws scopes (at least one granted). Only removes scopes.
;@abi site_withdraw bytes bytes int bytes
.func site_withdraw 4 28 export
    call r6, caller_site, 0
    move r19, r6                ; the investigator's site
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6                ; T
    move r6, r1
    call r6, check_32, 1
    move r6, r2
    call r6, check_scopes, 1
    move r6, r3
    call r6, check_32, 1
    move r6, r20
    move r7, r1
    move r8, r19
    call r6, require_enrolled_at, 3
    call r6, regulator_approval, 0
    move r18, r6                ; the regulator's co-signature
    loads r6, K_STATUS
    concat r6, r6, r20
    concat r21, r6, r1          ; status key
    move r6, r21
    loadk r7, E_NOT_GRANTED
    call r6, must_get, 2
    move r16, r6                ; status
    loadi r7, 0
    call r6, int_at, 2
    move r15, r6                ; current scopes
    band r17, r15, r2           ; removed: asked for and granted
    jnz r17, granted
    loadk r6, E_NOT_GRANTED
    abort r6
granted:
    bnot r6, r2
    band r15, r15, r6           ; remaining
    move r6, r16
    loadi r7, 8
    call r6, int_at, 2
    move r11, r6                ; version
    move r6, r20
    move r7, r21
    move r8, r16
    loadi r9, 3                 ; kind: withdrawal recorded by the site
    move r10, r15
    host r12, caller
    concat r12, r3, r12         ; form = the request, witness = the investigator
    loadi r13, 0
    itob r13, r13
    concat r12, r12, r13        ; meaning 0
    concat r12, r12, r13        ; flags 0
    host r13, cosigner_key, r18
    concat r12, r12, r13        ; other = the regulator
    move r13, r1
    call r6, record_change, 8
    loads r6, TOP_SITE_WITHDRAWN
    concat r7, r20, r1
    itob r8, r17
    concat r7, r7, r8
    itob r8, r15
    concat r7, r7, r8
    concat r7, r7, r3
    concat r7, r7, r19
    host r6, emit, r6
    ret r15

; rebind_request(trial, old, new, request) -> effective_at. An investigator of old's
; enrolling site, co-signed by a regulator (approval) and by the new key itself (approval:
; proof of possession), asks to move old's consent to new; request is the hash of the
; participant's documented request. Completes no earlier than the genesis's rebind delay.
;@abi rebind_request bytes bytes bytes bytes
.func rebind_request 4 28 export
    call r6, caller_site, 0
    move r19, r6
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6
    move r6, r1
    call r6, check_32, 1
    move r6, r2
    call r6, check_32, 1
    move r6, r3
    call r6, check_32, 1
    loads r6, ZERO32
    eq r6, r6, r2
    jz r6, nonzero
    loadk r6, E_ZERO_KEY
    abort r6
nonzero:
    eq r6, r1, r2
    jz r6, distinct
    loadk r6, E_BAD_ARG
    abort r6
distinct:
    move r6, r20
    move r7, r1
    move r8, r19
    call r6, require_enrolled_at, 3
    call r6, regulator_approval, 0
    move r18, r6
    move r6, r2
    call r6, cosigned_by, 1
    jnz r6, possessed
    loadk r6, E_NO_KEY_PROOF
    abort r6
possessed:
    move r6, r2
    loadi r7, 0
    call r6, key_free, 2
    loads r6, K_REBIND
    concat r6, r6, r20
    concat r21, r6, r1          ; the record's key
    host r6, get, r21
    type r7, r6
    jz r7, none
    loadi r7, 48
    call r6, int_at, 2
    loadi r7, 1
    eq r6, r6, r7
    jz r6, none
    loadk r6, E_REBIND_PENDING
    abort r6
none:
    loads r6, G_REBIND_DELAY    ; the executor always supplies it (genesis v3)
    host r6, get, r6
    btoi r6, r6
    host r7, time
    add r17, r7, r6             ; effective_at
    move r22, r2                ; new .. requested_at .. effective_at .. state 1 ..
    itob r6, r7
    concat r22, r22, r6
    itob r6, r17
    concat r22, r22, r6
    loadi r6, 1
    itob r6, r6
    concat r22, r22, r6
    host r6, caller             ; .. investigator .. regulator .. request
    concat r22, r22, r6
    host r6, cosigner_key, r18
    concat r22, r22, r6
    concat r22, r22, r3
    host r6, put, r21
    loads r6, K_RESERVED
    concat r21, r6, r2
    concat r22, r20, r1
    host r6, put, r21
    loads r6, TOP_REBIND_REQUESTED
    concat r7, r20, r1
    concat r7, r7, r2
    itob r8, r17
    concat r7, r7, r8
    concat r7, r7, r3
    host r6, emit, r6
    ret r17

; rebind_veto(trial) -> 1. The old key (the participant) vetoes its pending re-binding,
; at any time before it completes.
;@abi rebind_veto bytes
.func rebind_veto 1 24 export
    loadk r6, ROLE_PARTICIPANT
    loadk r7, E_NOT_PARTICIPANT
    move r8, r0
    call r6, role_trial, 3
    move r20, r6
    call r6, enrolled_site, 1
    loads r6, K_REBIND
    concat r6, r6, r20
    host r7, caller
    concat r21, r6, r7
    move r6, r21
    loadk r7, E_NO_REBIND
    call r6, must_get, 2
    move r16, r6                ; record
    loadi r7, 48
    call r6, int_at, 2
    loadi r7, 1
    eq r6, r6, r7
    jnz r6, pending
    loadk r6, E_NO_REBIND
    abort r6
pending:
    move r6, r16
    loadi r7, 2                 ; vetoed
    call r6, with_state, 2
    move r22, r6
    host r6, put, r21
    move r6, r16
    loadi r7, 0
    call r6, hash_at, 2
    move r15, r6                ; the new key: no longer reserved
    loads r6, K_RESERVED
    concat r6, r6, r15
    host r6, del, r6
    loads r6, TOP_REBIND_VETOED
    host r7, caller
    concat r7, r20, r7
    concat r7, r7, r15
    host r6, emit, r6
    loadi r6, 1
    ret r6

; carry_consent(T, old, new, request, site) -> the scopes carried: old's consent (scopes and
; version, if it has any) becomes new's, unchanged (history kind 4, flagged, on new; kind 5,
; scopes 0, on old); emits consent.rebound
.func carry_consent 5 24
    move r20, r0
    move r18, r2
    move r19, r4
    loadi r15, 0                ; scopes carried
    loadi r14, 0                ; their version
    loads r6, K_STATUS
    concat r6, r6, r20
    concat r22, r6, r1
    host r17, get, r22          ; old's status, if any
    type r6, r17
    jz r6, moved
    move r6, r17
    loadi r7, 0
    call r6, int_at, 2
    move r15, r6
    move r6, r17
    loadi r7, 8
    call r6, int_at, 2
    move r14, r6
    move r6, r20                ; old: kind 5, scopes 0, witness = new
    move r7, r22
    move r8, r17
    loadi r9, 5
    loadi r10, 0
    move r11, r14
    loads r12, ZERO32
    concat r12, r12, r18
    loadi r13, 0
    itob r13, r13
    concat r12, r12, r13        ; meaning 0
    concat r12, r12, r13        ; flags 0
    loads r13, ZERO32
    concat r12, r12, r13        ; other 0
    move r13, r1
    call r6, record_change, 8
    move r6, r20                ; new: kind 4, old's scopes, form = request, witness = old
    loads r7, K_STATUS
    concat r7, r7, r20
    concat r7, r7, r18
    loadi r8, 0
    loadi r9, 4
    move r10, r15
    move r11, r14
    move r12, r3                ; the request
    concat r12, r12, r1
    loadi r13, 0
    itob r13, r13
    concat r12, r12, r13        ; meaning 0
    loadi r13, 1
    itob r13, r13
    concat r12, r12, r13        ; flags 1
    concat r12, r12, r1         ; other = old
    move r13, r18
    call r6, record_change, 8
moved:
    loads r6, TOP_REBOUND
    concat r7, r20, r1
    concat r7, r7, r18
    itob r8, r15
    concat r7, r7, r8
    itob r8, r14
    concat r7, r7, r8
    concat r7, r7, r19
    host r6, emit, r6
    ret r15

; hand_over(T, old, new, site) -> 1: new is the participant enrolled at site from now on
; (consent/pk/, consent/e/, consent/b/ naming old); old holds no role and is retired for good
; (consent/pk/ deleted, consent/x/); new is no longer reserved (consent/rn/)
.func hand_over 4 8
    loads r4, K_PK
    concat r4, r4, r2
    move r5, r0
    host r4, put, r4
    loads r4, K_PK
    concat r4, r4, r1
    host r4, del, r4
    loads r4, K_RETIRED
    concat r4, r4, r1
    concat r5, r0, r2
    host r4, put, r4
    loads r4, K_RESERVED
    concat r4, r4, r2
    host r4, del, r4
    loads r4, K_ENROL
    concat r4, r4, r0
    concat r4, r4, r2
    move r5, r3
    host r4, put, r4
    loads r4, K_BOUND
    concat r4, r4, r0
    concat r4, r4, r2
    move r5, r1
    host r4, put, r4
    loadi r4, 1
    ret r4

; rebind_complete(trial, old, new) -> the scopes carried over. An investigator of old's
; enrolling site completes a pending, unvetoed re-binding of old to new once its delay has
; elapsed: new is enrolled at the same site with old's consent (scopes and version, nothing
; more), old's consent drops to nothing and old holds no role any more. (new is named so
; that the tx is about both keys: each one's view of the timeline shows it.)
;@abi rebind_complete bytes bytes bytes
.func rebind_complete 3 30 export
    call r6, caller_site, 0
    move r19, r6
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6
    move r6, r1
    call r6, check_32, 1
    move r6, r2
    call r6, check_32, 1
    loads r6, K_REBIND
    concat r6, r6, r20
    concat r21, r6, r1
    move r6, r21
    loadk r7, E_NO_REBIND
    call r6, must_get, 2
    move r16, r6                ; record
    loadi r7, 48
    call r6, int_at, 2
    loadi r7, 2
    eq r7, r6, r7
    jz r7, notvetoed
    loadk r6, E_REBIND_VETOED
    abort r6
notvetoed:
    loadi r7, 1
    eq r7, r6, r7
    jnz r7, pending
    loadk r6, E_NO_REBIND
    abort r6
pending:
    move r6, r20
    move r7, r1
    move r8, r19
    call r6, require_enrolled_at, 3
    move r6, r16
    loadi r7, 40
    call r6, int_at, 2          ; effective_at
    host r7, time
    lt r6, r7, r6
    jz r6, due
    loadk r6, E_REBIND_DELAY
    abort r6
due:
    move r6, r16
    loadi r7, 0
    call r6, hash_at, 2
    move r18, r6                ; new key
    eq r6, r18, r2
    jnz r6, named
    loadk r6, E_NO_REBIND       ; the pending re-binding names another key
    abort r6
named:
    move r6, r18
    loadi r7, 1                 ; still free (reserved by this re-binding only)
    call r6, key_free, 2
    move r6, r20                ; the consent moves, unchanged
    move r7, r1
    move r8, r18
    move r9, r16
    loadi r10, 120
    call r9, hash_at, 2         ; the request
    move r10, r19
    call r6, carry_consent, 5
    move r15, r6
    move r6, r20
    move r7, r1
    move r8, r18
    move r9, r19
    call r6, hand_over, 4
    move r6, r16
    loadi r7, 3                 ; completed
    call r6, with_state, 2
    move r22, r6
    host r6, put, r21
    ret r15
