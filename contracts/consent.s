; consent.s - enrolment, consent grant and withdrawal. T = lp(trial id), pk = 32-byte key.
;   consent/pk/pk          T      (the one trial a pseudonymous key is enrolled in)
;   consent/e/T pk         site   (the enrolling site)
;   consent/s/T pk         scopes:8 version:8 since:8 entries:8   (current status)
;   consent/h/T pk n:8     kind:8 time:8 scopes_after:8 version:8 form:32 witness:32 meaning:8
;                          (kind 1 grant, 2 withdrawal; withdrawal has zero form/witness)
;   consent/n/T            enrolled:8   (keys enrolled in the trial; beyond planned: flagged)
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

; record_change(T, key, status_or_0, kind, scopes, version, rest) -> 1: writes the caller's
; history entry n (n = the status' entries, 0 without a status): kind:8 time:8 scopes:8
; version:8 .. rest, then the status under key: scopes:8 version:8 time:8 (n+1):8
.func record_change 7 14
    loadi r7, 0                 ; n
    type r8, r2
    jz r8, first
    move r8, r2
    loadi r9, 24
    call r8, int_at, 2
    move r7, r8
first:
    itob r8, r3                 ; history entry
    host r9, time
    itob r9, r9
    concat r8, r8, r9
    itob r9, r4
    concat r8, r8, r9
    itob r9, r5
    concat r8, r8, r9
    concat r13, r8, r6
    loads r8, K_HISTORY
    concat r8, r8, r0
    host r9, caller
    concat r8, r8, r9
    itob r9, r7
    concat r12, r8, r9
    host r8, put, r12
    addi r7, r7, 1
    itob r8, r4                 ; status
    itob r9, r5
    concat r8, r8, r9
    host r9, time
    itob r9, r9
    concat r8, r8, r9
    itob r9, r7
    concat r13, r8, r9
    move r12, r1
    host r8, put, r12
    loadi r8, 1
    ret r8

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
    call r6, record_change, 7
    loads r6, TOP_GRANTED
    host r7, caller
    concat r7, r20, r7
    move r8, r1
    move r9, r3
    call r6, emit_ints, 4
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
    call r6, record_change, 7
    loads r6, TOP_WITHDRAWN
    host r7, caller
    concat r7, r20, r7
    move r8, r17
    move r9, r15
    call r6, emit_ints, 4
    ret r15
