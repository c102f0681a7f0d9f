; common.s - helpers shared by every contract. The build prepends this file to each
; contract's source (contracts/embed.c), so each module is self-contained.
; Error codes: contracts/errors.h is the one table; the tests check these lines against it.
.int E_NOT_SPONSOR 101
.int E_NOT_REGULATOR 102
.int E_NOT_INVESTIGATOR 103
.int E_NOT_PARTICIPANT 104
.int E_NOT_RESEARCHER 105
.int E_BAD_ARG 110
.int E_TRIAL_EXISTS 111
.int E_NO_TRIAL 112
.int E_NO_VERSION 113
.int E_ALREADY_APPROVED 114
.int E_NO_SITE 115
.int E_SITE_INACTIVE 116
.int E_SITE_ACTIVE 117
.int E_VERSION_UNAPPROVED 118
.int E_VERSION_SUPERSEDED 119
.int E_ALREADY_ENROLLED 120
.int E_NOT_ENROLLED 121
.int E_WRONG_SITE 122
.int E_NO_WITNESS 123
.int E_BAD_SCOPES 124
.int E_NOT_GRANTED 125
.int E_NO_CONSENT 126
.int E_RECONSENT_NEEDED 127
.int E_FUTURE_DATA 128
.int E_STALE_DATA 129
.int E_DUPLICATE 130
.int E_TOO_MANY 131
.int E_ROLE_TAKEN 132
.int E_ZERO_KEY 133
.int E_FORM_UNAPPROVED 134
.int E_NOT_APPROVED 135
.int E_NO_APPROVAL 136
.int E_NO_KEY_PROOF 137
.int E_REBIND_PENDING 138
.int E_NO_REBIND 139
.int E_REBIND_VETOED 140
.int E_REBIND_DELAY 141
; roles (codec.h authority_role)
.int ROLE_SPONSOR 1
.int ROLE_INVESTIGATOR 2
.int ROLE_REGULATOR 3
.int ROLE_RESEARCHER 4
.int ROLE_PARTICIPANT 5
.int MEANING_APPROVAL 2
.int MEANING_WITNESS 4
.int SIZE_MAX 1099511627776
.int TIME_MAX 4102444800000
.bytes G_AUTH "genesis/auth/"
.bytes G_WINDOW "genesis/anchor_window"
.bytes K_TRIAL "protocol/t/"
.bytes K_SITE "protocol/s/"
.bytes EMPTY ""
.bytes K_STATUS "consent/s/"
.bytes K_HISTORY "consent/h/"
.bytes K_RECONSENT "protocol/r/"

; lp(b) -> one length byte .. b   (b: 1..255 bytes). Makes variable-length ids prefix-free.
.func lp 1 4
    len r1, r0
    itob r1, r1
    loadi r2, 7
    loadi r3, 1
    slice r1, r1, r2
    concat r0, r1, r0
    ret r0

; check_bytes(v, min, max) -> v, or abort BAD_ARG unless v is bytes of min..max length
.func check_bytes 3 5
    type r3, r0
    jz r3, bad
    len r3, r0
    lt r4, r3, r1
    jnz r4, bad
    lt r4, r2, r3
    jnz r4, bad
    ret r0
bad:
    loadk r4, E_BAD_ARG
    abort r4

; check_hashes(v, min, max) -> v: bytes holding min..max 32-byte hashes, or abort BAD_ARG
.func check_hashes 3 5
    mulk r1, r1, THIRTYTWO
    mulk r2, r2, THIRTYTWO
    call r0, check_bytes, 3
    len r3, r0
    modk r4, r3, THIRTYTWO
    jnz r4, bad
    ret r0
bad:
    loadk r4, E_BAD_ARG
    abort r4

; check_int(v, min, max) -> v, or abort BAD_ARG unless v is an int in min..max
.func check_int 3 5
    type r3, r0
    jnz r3, bad
    lt r4, r0, r1
    jnz r4, bad
    lt r4, r2, r0
    jnz r4, bad
    ret r0
bad:
    loadk r4, E_BAD_ARG
    abort r4

; check_scope(v) -> v: exactly one of the five scope bits, or abort BAD_SCOPES
.func check_scope 1 4
    type r1, r0
    jnz r1, bad
    loadi r1, 1
    lt r2, r0, r1
    jnz r2, bad
    loadi r1, 16
    lt r2, r1, r0
    jnz r2, bad
    addi r2, r0, -1
    band r2, r2, r0
    jnz r2, bad
    ret r0
bad:
    loadk r3, E_BAD_SCOPES
    abort r3

; check_32(v) -> v, or abort BAD_ARG unless v is bytes of exactly 32 (a key or a hash)
.func check_32 1 3
    loadi r1, 32
    loadi r2, 32
    call r0, check_bytes, 3
    ret r0

; check_scopes(v) -> v: a non-empty set of the five scope bits (int 1..31), or abort BAD_SCOPES
.func check_scopes 1 3
    type r1, r0
    jnz r1, bad
    loadi r1, 1
    lt r2, r0, r1
    jnz r2, bad
    loadi r1, 31
    lt r2, r1, r0
    jnz r2, bad
    ret r0
bad:
    loadk r1, E_BAD_SCOPES
    abort r1

; check_outcomes(primary, secondary) -> 1, or abort BAD_ARG unless primary holds 1..4 and
; secondary 0..16 32-byte hashes
.func check_outcomes 2 5
    move r2, r0
    loadi r3, 1
    loadi r4, 4
    call r2, check_hashes, 3
    move r2, r1
    loadi r3, 0
    loadi r4, 16
    call r2, check_hashes, 3
    loadi r2, 1
    ret r2

; trial_arg(trial) -> T = lp(trial), or abort BAD_ARG unless trial is 1..32 bytes
.func trial_arg 1 3
    loadi r1, 1
    loadi r2, 32
    call r0, check_bytes, 3
    call r0, lp, 1
    ret r0

; role_trial(role, code, trial) -> T: require_role(role, code), then trial_arg(trial)
.func role_trial 3 3
    call r0, require_role, 2
    move r0, r2
    call r0, trial_arg, 1
    ret r0

; int_at(value, offset) -> the big-endian int64 at value[offset .. offset+8)
.func int_at 2 4
    move r2, r1
    loadi r3, 8
    slice r2, r0, r2
    btoi r2, r2
    ret r2

; hash_at(value, offset) -> value[offset .. offset+32)
.func hash_at 2 4
    move r2, r1
    loadi r3, 32
    slice r2, r0, r2
    ret r2

; tail(value, offset) -> value[offset ..]
.func tail 2 4
    move r2, r1
    len r3, r0
    sub r3, r3, r1
    slice r2, r0, r2
    ret r2

; must_get(key, code) -> value bytes, or abort code when the key is absent
.func must_get 2 4
    host r2, get, r0
    type r3, r2
    jz r3, no
    ret r2
no:
    abort r1

; require_role(role, code) -> 1, or abort code unless the caller holds role
.func require_role 2 3
    host r2, role
    eq r2, r2, r0
    jz r2, no
    ret r2
no:
    abort r1

; inv_site(key) -> the site of an investigator key (from the genesis), or int 0
.func inv_site 1 5
    loads r1, G_AUTH
    concat r1, r1, r0
    host r1, get, r1
    type r2, r1
    jz r2, none
    loadi r3, 0
    byteat r2, r1, r3
    loadk r3, ROLE_INVESTIGATOR
    ne r2, r2, r3
    jnz r2, none
    len r4, r1
    addi r4, r4, -1
    loadi r3, 1
    slice r1, r1, r3
    ret r1
none:
    loadi r1, 0
    ret r1

; caller_site() -> the caller's site, or abort NOT_INVESTIGATOR
.func caller_site 0 3
    host r0, caller
    call r0, inv_site, 1
    type r1, r0
    jz r1, no
    ret r0
no:
    loadk r2, E_NOT_INVESTIGATOR
    abort r2

; trial_rec(T) -> the trial record (T = lp(trial)), or abort NO_TRIAL
.func trial_rec 1 3
    loads r1, K_TRIAL
    concat r0, r1, r0
    loadk r1, E_NO_TRIAL
    call r0, must_get, 2
    ret r0

; sponsor_rec(T) -> the trial record, or abort NO_TRIAL, or NOT_SPONSOR unless the caller
; is the trial's sponsor
.func sponsor_rec 1 2
    call r0, trial_rec, 1
    move r1, r0
    call r1, require_sponsor, 1
    ret r0

; sponsor_approved(trial) -> T = lp(trial): trial_arg, then sponsor_rec, then abort
; NOT_APPROVED unless a version of the trial is approved (protocol.activate, outcomes.report)
.func sponsor_approved 1 3
    call r0, trial_arg, 1
    move r1, r0
    call r1, sponsor_rec, 1
    loadk r2, E_NOT_APPROVED
    call r1, require_approved, 2
    ret r0

; require_sponsor(rec) -> 1, or abort NOT_SPONSOR unless the caller is the trial's sponsor
.func require_sponsor 1 4
    loadk r1, ROLE_SPONSOR
    loadk r2, E_NOT_SPONSOR
    call r1, require_role, 2
    move r1, r0
    loadi r2, 48
    call r1, hash_at, 2
    host r2, caller
    eq r1, r1, r2
    jz r1, no
    ret r1
no:
    loadk r3, E_NOT_SPONSOR
    abort r3

; require_approved(rec, code) -> 1, or abort code (NOT_APPROVED, or VERSION_UNAPPROVED for
; an enrolment) unless a version of the trial is approved
.func require_approved 2 3
    move r2, r1
    loadi r1, 8
    call r0, int_at, 2
    jz r0, no
    loadi r0, 1
    ret r0
no:
    abort r2

; bump(key) -> n: the counter under key (0 when absent), which it sets to n + 1
.func bump 1 6
    move r4, r0
    host r1, get, r4
    loadi r2, 0
    type r3, r1
    jz r3, absent
    call r1, int_at, 2
    move r2, r1
absent:
    addi r3, r2, 1
    itob r5, r3
    host r3, put, r4
    ret r2

; emit_ints(topic, data, a, b) -> 1: emits topic with data .. a:8 .. b:8
.func emit_ints 4 6
    itob r4, r2
    concat r5, r1, r4
    itob r4, r3
    concat r5, r5, r4
    move r4, r0
    host r0, emit, r4
    loadi r0, 1
    ret r0

; require_active_site(T, site) -> 1, or abort NO_SITE / SITE_INACTIVE
.func require_active_site 2 4
    loads r2, K_SITE
    concat r2, r2, r0
    concat r2, r2, r1
    loadk r3, E_NO_SITE
    call r2, must_get, 2
    loadi r3, 0
    call r2, int_at, 2
    jz r2, inactive
    loadi r2, 1
    ret r2
inactive:
    loadk r3, E_SITE_INACTIVE
    abort r3

; contains(list, h) -> 1 if the 32-byte hash h is one of list's 32-byte entries
.func contains 2 8
    len r2, r0
    loadi r3, 0
loop:
    lt r4, r3, r2
    jz r4, no
    move r5, r3
    loadi r6, 32
    slice r7, r0, r5
    eq r7, r7, r1
    jnz r7, yes
    addi r3, r3, 32
    jmp loop
yes:
    loadi r4, 1
    ret r4
no:
    loadi r4, 0
    ret r4
.int THIRTYTWO 32

; reconsent_floor(T, version) -> the earliest approval time of a re-consent version above
; version (consent given under version stops covering data collected from then on), or -1
; if there is none. Walks protocol/r/T (one entry per approved re-consent version).
.func reconsent_floor 2 12
    loads r2, K_RECONSENT
    concat r2, r2, r0
    host r2, get, r2
    loadi r3, -1
    type r4, r2
    jz r4, done
    len r4, r2
    loadi r5, 0                 ; offset
loop:
    lt r6, r5, r4
    jz r6, done
    move r6, r2
    move r7, r5
    call r6, int_at, 2          ; version
    lt r6, r1, r6
    jz r6, next                 ; not above the consent's version
    move r6, r2
    addi r7, r5, 8
    call r6, int_at, 2          ; approved_at
    loadi r8, 0
    lt r8, r3, r8
    jnz r8, take                ; the first one found
    lt r8, r6, r3
    jz r8, next
take:
    move r3, r6
next:
    addi r5, r5, 16
    jmp loop
done:
    ret r3

; entry_at(T, pk, t) -> the participant's consent history entry in force at time t (the
; last one whose time is <= t), or the int 0 if there is none (never consented, or only
; later). Walks the history backwards (bounded by its length and by gas).
.func entry_at 3 14
    loads r3, K_STATUS
    concat r3, r3, r0
    concat r3, r3, r1
    host r3, get, r3
    type r4, r3
    jz r4, none
    loadi r4, 24
    call r3, int_at, 2          ; entries
    loads r4, K_HISTORY
    concat r4, r4, r0
    concat r4, r4, r1           ; history prefix
loop:
    addi r3, r3, -1
    loadi r5, 0
    lt r5, r3, r5
    jnz r5, none
    itob r5, r3
    concat r5, r4, r5
    host r5, get, r5
    move r6, r5
    loadi r7, 8
    call r6, int_at, 2          ; entry time
    lt r6, r2, r6
    jnz r6, loop                ; entry is later than t
    ret r5
none:
    loadi r5, 0
    ret r5
