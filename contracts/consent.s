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
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    call r6, lp, 1
    move r20, r6                ; T
    move r6, r1
    loadi r7, 32
    loadi r8, 32
    call r6, check_bytes, 3
    loads r6, ZERO32            ; the all-zero key is nobody's key
    eq r6, r6, r1
    jz r6, nonzero
    loadk r6, E_ZERO_KEY
    abort r6
nonzero:
    move r6, r20
    call r6, trial_rec, 1
    move r18, r6                ; trial record
    loadi r7, 8
    call r6, int_at, 2          ; highest approved version
    jnz r6, approved
    loadk r6, E_VERSION_UNAPPROVED
    abort r6
approved:
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
    concat r21, r6, r20
    host r6, get, r21
    loadi r17, 0
    type r7, r6
    jz r7, counted
    loadi r7, 0
    call r6, int_at, 2
    move r17, r6
counted:
    addi r17, r17, 1
    itob r22, r17
    host r6, put, r21
    move r6, r18
    loadi r7, 32
    call r6, int_at, 2          ; planned
    move r16, r6
    lt r6, r16, r17
    jz r6, planned
    loads r21, TOP_OVER
    itob r6, r17
    concat r22, r20, r6
    itob r6, r16
    concat r22, r22, r6
    host r6, emit, r21
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

; status_key(T) -> consent/s/T caller ; and enrolled site check
.func enrolled_site 1 4
    loads r1, K_ENROL
    concat r1, r1, r0
    host r2, caller
    concat r1, r1, r2
    loadk r2, E_NOT_ENROLLED
    call r1, must_get, 2
    ret r1

; append_history(T, status_or_0, entry) -> new count; writes history entry n and returns n+1
.func append_history 3 12
    loadi r3, 0
    type r4, r1
    jz r4, first
    move r4, r1
    loadi r5, 24
    call r4, int_at, 2
    move r3, r4
first:
    loads r4, K_HISTORY
    concat r4, r4, r0
    host r5, caller
    concat r4, r4, r5
    itob r5, r3
    concat r8, r4, r5
    move r9, r2
    host r4, put, r8
    addi r3, r3, 1
    ret r3

; grant(trial, version, form_hash, scopes) -> scopes. Signed by the participant, co-signed
; (meaning witness) by an investigator of the enrolling site.
;@abi grant bytes int bytes int
.func grant 4 28 export
    loadk r6, ROLE_PARTICIPANT
    loadk r7, E_NOT_PARTICIPANT
    call r6, require_role, 2
    move r6, r0
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    call r6, lp, 1
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
    loadi r7, 32
    loadi r8, 32
    call r6, check_bytes, 3
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
    type r6, r3
    jnz r6, badscopes
    loadi r6, 1
    lt r6, r3, r6
    jnz r6, badscopes
    loadi r6, 31
    lt r6, r6, r3
    jnz r6, badscopes
    move r6, r19
    call r6, witness, 1
    move r17, r6                ; witness index
    loads r6, K_STATUS
    concat r6, r6, r20
    host r7, caller
    concat r21, r6, r7          ; status key
    host r16, get, r21
    loadi r6, 1                 ; history entry
    itob r6, r6
    host r7, time
    itob r7, r7
    concat r6, r6, r7
    itob r7, r3
    concat r6, r6, r7
    itob r7, r1
    concat r6, r6, r7
    concat r6, r6, r2
    host r7, cosigner_key, r17
    concat r6, r6, r7
    host r7, cosigner_meaning, r17
    itob r7, r7
    concat r8, r6, r7
    move r6, r20
    move r7, r16
    call r6, append_history, 3
    move r15, r6                ; new count
    itob r6, r3                 ; status
    itob r7, r1
    concat r6, r6, r7
    host r7, time
    itob r7, r7
    concat r6, r6, r7
    itob r7, r15
    concat r22, r6, r7
    host r6, put, r21
    loads r21, TOP_GRANTED
    host r6, caller
    concat r22, r20, r6
    itob r6, r1
    concat r22, r22, r6
    itob r6, r3
    concat r22, r22, r6
    host r6, emit, r21
    ret r3
badscopes:
    loadk r6, E_BAD_SCOPES
    abort r6

; withdraw(trial, scopes) -> remaining scopes. The participant alone; forward-only.
;@abi withdraw bytes int
.func withdraw 2 28 export
    loadk r6, ROLE_PARTICIPANT
    loadk r7, E_NOT_PARTICIPANT
    call r6, require_role, 2
    move r6, r0
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    call r6, lp, 1
    move r20, r6
    call r6, enrolled_site, 1
    type r6, r1
    jnz r6, badscopes
    loadi r6, 1
    lt r6, r1, r6
    jnz r6, badscopes
    loadi r6, 31
    lt r6, r6, r1
    jnz r6, badscopes
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
    band r12, r15, r1           ; removed: asked for and granted
    bnot r6, r1
    band r15, r15, r6           ; remaining
    move r6, r16
    loadi r7, 8
    call r6, int_at, 2
    move r14, r6                ; version
    loadi r6, 2                 ; history entry
    itob r6, r6
    host r7, time
    itob r7, r7
    concat r6, r6, r7
    itob r7, r15
    concat r6, r6, r7
    itob r7, r14
    concat r6, r6, r7
    loads r7, ZERO32
    concat r6, r6, r7
    concat r6, r6, r7
    loadi r7, 0
    itob r7, r7
    concat r8, r6, r7
    move r6, r20
    move r7, r16
    call r6, append_history, 3
    move r13, r6
    itob r6, r15
    itob r7, r14
    concat r6, r6, r7
    host r7, time
    itob r7, r7
    concat r6, r6, r7
    itob r7, r13
    concat r22, r6, r7
    host r6, put, r21
    loads r21, TOP_WITHDRAWN
    host r6, caller
    concat r22, r20, r6
    itob r6, r12
    concat r22, r22, r6
    itob r6, r15
    concat r22, r22, r6
    host r6, emit, r21
    ret r15
badscopes:
    loadk r6, E_BAD_SCOPES
    abort r6
