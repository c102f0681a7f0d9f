; data.s - a site anchors the hash of a collected record. T = lp(trial id).
;   data/h/T hash        participant:32 scope:8 collected_at:8 size:8 anchored_at:8 site
;   data/p/T pk scope:8 hash   collected_at:8   (per-participant, per-scope index: access)
; Reads protocol/r/T (reconsent_floor, common.s).
.bytes K_ENROL "consent/e/"
.bytes K_HASH "data/h/"
.bytes K_BYPK "data/p/"
.bytes TOP_ANCHORED "data.anchored"

; consent_at(T, pk, t) -> the history entry in force at time t, or abort NO_CONSENT.
.func consent_at 3 8
    call r0, entry_at, 3
    type r3, r0
    jz r3, none
    ret r0
none:
    loadk r3, E_NO_CONSENT
    abort r3

; anchor(trial, participant, scope, collected_at, content_hash, size) -> 1
;@abi anchor bytes bytes int int bytes int
.func anchor 6 28 export
    call r6, caller_site, 0
    move r19, r6                ; site
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6                ; T
    call r6, trial_rec, 1
    move r18, r6
    move r6, r1
    call r6, check_32, 1
    move r6, r2
    call r6, check_scope, 1
    move r6, r3
    loadi r7, 0
    loadk r8, TIME_MAX
    call r6, check_int, 3
    move r6, r4
    call r6, check_32, 1
    move r6, r5
    loadi r7, 0
    loadk r8, SIZE_MAX
    call r6, check_int, 3
    loads r6, K_ENROL           ; the participant's site must be the caller's
    concat r6, r6, r20
    concat r6, r6, r1
    loadk r7, E_NOT_ENROLLED
    call r6, must_get, 2
    eq r6, r6, r19
    jnz r6, samesite
    loadk r6, E_WRONG_SITE
    abort r6
samesite:
    move r6, r20
    move r7, r19
    call r6, require_active_site, 2
    host r17, time              ; contemporaneous: now - window <= collected_at < now
    lt r6, r3, r17              ; strictly before its block: then the consent and approvals
    jnz r6, notfuture           ; that decide it are all in earlier blocks, and no tx of
    loadk r6, E_FUTURE_DATA     ; this block, in any order, changes the outcome
    abort r6
notfuture:
    loads r6, G_WINDOW
    host r6, get, r6
    loadi r7, 0
    call r6, int_at, 2
    sub r6, r17, r6
    lt r6, r3, r6
    jz r6, fresh
    loadk r6, E_STALE_DATA
    abort r6
fresh:
    loads r6, K_HASH
    concat r6, r6, r20
    concat r21, r6, r4
    host r6, get, r21
    type r6, r6
    jz r6, unique
    loadk r6, E_DUPLICATE
    abort r6
unique:
    move r6, r20
    move r7, r1
    move r8, r3
    call r6, consent_at, 3
    move r16, r6                ; entry in force at collected_at
    loadi r7, 16
    call r6, int_at, 2
    band r6, r6, r2
    jnz r6, covered
    loadk r6, E_NO_CONSENT
    abort r6
covered:
    move r6, r16                ; re-consent rule: consent under version v stops covering
    loadi r7, 24                ; data collected from the first approval of a re-consent
    call r6, int_at, 2          ; version above v on
    move r7, r6
    move r6, r20
    call r6, reconsent_floor, 2
    loadi r7, 0
    lt r7, r6, r7
    jnz r7, valid               ; no re-consent version above v is approved
    lt r6, r3, r6
    jnz r6, valid               ; collected before that approval
    loadk r6, E_RECONSENT_NEEDED
    abort r6
valid:
    move r6, r1
    itob r7, r2
    concat r6, r6, r7
    itob r7, r3
    concat r6, r6, r7
    itob r7, r5
    concat r6, r6, r7
    itob r7, r17
    concat r6, r6, r7
    concat r22, r6, r19
    host r6, put, r21
    loads r6, K_BYPK
    concat r6, r6, r20
    concat r6, r6, r1
    itob r7, r2
    concat r6, r6, r7
    concat r21, r6, r4
    itob r22, r3
    host r6, put, r21
    loads r21, TOP_ANCHORED
    concat r22, r20, r1
    concat r22, r22, r4
    itob r6, r2
    concat r22, r22, r6
    itob r6, r3
    concat r22, r22, r6
    host r6, emit, r21
    loadi r6, 1
    ret r6
