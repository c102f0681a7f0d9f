; protocol.s - the protocol registry: register, amend, approve, activate, add_site.
; State layout and arguments: contracts/ABI.md "protocol". T = lp(trial id).
;   protocol/t/T       version:8 approved:8 floor_version:8 floor_time:8 planned:8
;                      registered_at:8 sponsor:32
;   protocol/v/T v:8   doc:32 reconsent:8 approved_at:8 created_at:8
;   protocol/o/T v:8   n_primary:8 primary:32*n secondary:32*m
;   protocol/s/T site  active_since:8 (0 = listed, not active)
;   protocol/f/T v:8   forms:32*(1..4)  (the consent forms submitted with version v; its
;                      approval approves them)
;   protocol/r/T       (version:8 approved_at:8)*  one per approved re-consent version, in
;                      approval order (the floor of every older consent: data.s)
.bytes K_VERSION "protocol/v/"
.bytes K_OUTCOMES "protocol/o/"
.bytes K_FORMS "protocol/f/"
.bytes TOP_REGISTERED "protocol.registered"
.bytes TOP_AMENDED "protocol.amended"
.bytes TOP_CHANGED "protocol.flag.outcomes_changed"
.bytes TOP_APPROVED "protocol.approved"
.bytes TOP_ACTIVATED "protocol.site_activated"
.bytes TOP_SITE_ADDED "protocol.site_added"
.int PLANNED_MAX 1000000

; vkey(prefix, T, v) -> prefix .. T .. v:8
.func vkey 3 4
    concat r0, r0, r1
    itob r3, r2
    concat r0, r0, r3
    ret r0

; outcomes_value(primary, secondary) -> n_primary:8 .. primary .. secondary
.func outcomes_value 2 4
    len r2, r0
    divk r2, r2, THIRTYTWO
    itob r2, r2
    concat r2, r2, r0
    concat r2, r2, r1
    ret r2

; version_value(doc, reconsent) -> doc .. reconsent:8 .. approved_at=0:8 .. created_at:8
.func version_value 2 4
    itob r2, r1
    concat r0, r0, r2
    loadi r2, 0
    itob r2, r2
    concat r0, r0, r2
    host r2, time
    itob r2, r2
    concat r0, r0, r2
    ret r0

; put_forms(T, v, forms) -> 1: checks forms (32*(1..4), none twice) and stores them
.func put_forms 3 12
    move r3, r2
    loadi r4, 1
    loadi r5, 4
    call r3, check_hashes, 3
    len r3, r2
    loadi r4, 32                ; each form differs from the ones before it
dup:
    lt r5, r4, r3
    jz r5, store
    move r6, r2
    move r7, r4
    call r6, hash_at, 2
    move r8, r6
    loadi r6, 0
    move r7, r4
    slice r6, r2, r6            ; the forms before this one
    move r7, r8
    call r6, contains, 2
    jnz r6, bad
    addi r4, r4, 32
    jmp dup
store:
    loads r6, K_FORMS
    move r7, r0
    move r8, r1
    call r6, vkey, 3
    move r10, r6
    move r11, r2
    host r6, put, r10
    loadi r6, 1
    ret r6
bad:
    loadk r5, E_BAD_ARG
    abort r5

; check_version_args(doc, primary, secondary) -> 1: doc a 32-byte hash, primary 1..4 and
; secondary 0..16 hashes, or abort BAD_ARG (register, amend)
.func check_version_args 3 4
    call r0, check_32, 1
    move r0, r1
    move r1, r2
    call r0, check_outcomes, 2
    ret r0

; register_sites(T, sites) -> count; sites = (len:1 name)*, 1..8 sites of 1..32 bytes
.func register_sites 2 16
    len r2, r1
    loadi r3, 0                 ; pos
    loadi r4, 0                 ; count
loop:
    lt r5, r3, r2
    jz r5, done
    byteat r5, r1, r3           ; name length
    loadi r6, 1
    lt r7, r5, r6
    jnz r7, bad
    loadi r6, 32
    lt r7, r6, r5
    jnz r7, bad
    addi r8, r3, 1
    move r9, r5
    add r10, r8, r9
    lt r7, r2, r10
    jnz r7, bad
    slice r11, r1, r8           ; name = sites[pos+1 .. pos+1+n)
    move r3, r10
    addi r4, r4, 1
    loadi r6, 8
    lt r7, r6, r4
    jnz r7, bad
    loads r12, K_SITE
    concat r12, r12, r0
    concat r12, r12, r11
    host r13, get, r12          ; a site listed twice is refused
    type r13, r13
    jnz r13, bad
    loadi r13, 0
    itob r13, r13
    host r14, put, r12
    jmp loop
done:
    jz r4, bad
    ret r4
bad:
    loadk r5, E_BAD_ARG
    abort r5

; register(trial, doc, primary, secondary, planned, sites, forms) -> 1
;@abi register bytes bytes bytes bytes int bytes bytes
.func register 7 24 export
    move r23, r6                ; r23 = forms (r6.. are scratch below)
    loadk r6, ROLE_SPONSOR
    loadk r7, E_NOT_SPONSOR
    move r8, r0
    call r6, role_trial, 3
    move r20, r6                ; r20 = T
    move r6, r1
    move r7, r2
    move r8, r3
    call r6, check_version_args, 3
    move r6, r4
    loadi r7, 1
    loadk r8, PLANNED_MAX
    call r6, check_int, 3
    move r6, r5
    loadi r7, 2
    loadi r8, 264
    call r6, check_bytes, 3
    loads r6, K_TRIAL           ; exists?
    concat r21, r6, r20
    host r6, get, r21
    type r6, r6
    jz r6, fresh
    loadk r6, E_TRIAL_EXISTS
    abort r6
fresh:
    loadi r6, 1                 ; trial record
    itob r6, r6
    loadi r7, 0
    itob r7, r7
    concat r6, r6, r7
    concat r6, r6, r7
    concat r6, r6, r7
    itob r8, r4
    concat r6, r6, r8
    host r8, time
    itob r8, r8
    concat r6, r6, r8
    host r8, caller
    concat r22, r6, r8
    host r6, put, r21
    loads r6, K_VERSION         ; version 1
    move r7, r20
    loadi r8, 1
    call r6, vkey, 3
    move r21, r6
    move r6, r1
    loadi r7, 0
    call r6, version_value, 2
    move r22, r6
    host r6, put, r21
    loads r6, K_OUTCOMES
    move r7, r20
    loadi r8, 1
    call r6, vkey, 3
    move r21, r6
    move r6, r2
    move r7, r3
    call r6, outcomes_value, 2
    move r22, r6
    host r6, put, r21
    move r6, r20
    move r7, r5
    call r6, register_sites, 2
    move r6, r20
    loadi r7, 1
    move r8, r23
    call r6, put_forms, 3
    loads r21, TOP_REGISTERED
    loadi r6, 1
    itob r6, r6
    concat r22, r20, r6
    host r6, emit, r21
    loadi r6, 1
    ret r6

; amend(trial, doc, primary, secondary, reconsent_required, forms) -> new version
;@abi amend bytes bytes bytes bytes int bytes
.func amend 6 24 export
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6                ; T
    call r6, sponsor_rec, 1
    move r19, r6                ; rec
    move r6, r1
    move r7, r2
    move r8, r3
    call r6, check_version_args, 3
    move r6, r4
    loadi r7, 0
    loadi r8, 1
    call r6, check_int, 3
    move r6, r19
    loadi r7, 0
    call r6, int_at, 2
    addi r18, r6, 1             ; r18 = new version
    loads r6, K_VERSION
    move r7, r20
    move r8, r18
    call r6, vkey, 3
    move r21, r6
    move r6, r1
    move r7, r4
    call r6, version_value, 2
    move r22, r6
    host r6, put, r21
    move r6, r20
    move r7, r18
    move r8, r5
    call r6, put_forms, 3
    move r6, r2                 ; outcomes of the new version
    move r7, r3
    call r6, outcomes_value, 2
    move r17, r6
    loads r6, K_OUTCOMES
    move r7, r20
    addi r8, r18, -1
    call r6, vkey, 3
    host r16, get, r6           ; previous version's outcomes
    loads r6, K_OUTCOMES
    move r7, r20
    move r8, r18
    call r6, vkey, 3
    move r21, r6
    move r22, r17
    host r6, put, r21
    itob r15, r18
    concat r15, r20, r15        ; event data: T .. version:8
    eq r6, r16, r17
    jnz r6, same
    loads r21, TOP_CHANGED
    move r22, r15
    host r6, emit, r21
same:
    loads r6, TOP_AMENDED
    move r7, r20
    move r8, r18
    move r9, r4
    call r6, emit_ints, 4
    itob r6, r18                ; trial record: new current version
    move r7, r19
    loadi r8, 8
    call r7, tail, 2
    concat r22, r6, r7
    loads r6, K_TRIAL
    concat r21, r6, r20
    host r6, put, r21
    ret r18

; approve(trial, version) -> version. Regulator or ethics committee only.
;@abi approve bytes int
.func approve 2 24 export
    loadk r6, ROLE_REGULATOR
    loadk r7, E_NOT_REGULATOR
    move r8, r0
    call r6, role_trial, 3
    move r20, r6
    call r6, trial_rec, 1
    move r19, r6
    loadi r7, 0
    call r6, int_at, 2          ; current version
    move r8, r6
    move r6, r1
    loadi r7, 1
    call r6, check_int, 3       ; 1 <= version <= current
    loads r6, K_VERSION
    move r7, r20
    move r8, r1
    call r6, vkey, 3
    move r21, r6
    loadk r7, E_NO_VERSION
    call r6, must_get, 2
    move r18, r6                ; version record
    loadi r7, 40
    call r6, int_at, 2
    jz r6, fresh
    loadk r6, E_ALREADY_APPROVED
    abort r6
fresh:
    move r6, r18
    loadi r7, 32
    call r6, int_at, 2
    move r17, r6                ; reconsent flag
    loadi r6, 0                 ; version record with approved_at = now
    loadi r7, 40
    slice r6, r18, r6
    host r8, time
    itob r8, r8
    concat r6, r6, r8
    move r8, r18
    loadi r9, 48
    call r8, tail, 2
    concat r22, r6, r8
    host r6, put, r21
    move r6, r19                ; trial record
    loadi r7, 8
    call r6, int_at, 2
    move r16, r6                ; approved (highest)
    lt r6, r16, r1
    jz r6, keep
    move r16, r1
keep:
    move r6, r19
    loadi r7, 16
    call r6, int_at, 2
    move r15, r6                ; floor version
    move r6, r19
    loadi r7, 24
    call r6, int_at, 2
    move r14, r6                ; floor time
    jz r17, nofloor
    loads r6, K_RECONSENT       ; every re-consent approval is kept (data.s floor rule)
    concat r21, r6, r20
    host r6, get, r21
    type r7, r6
    jnz r7, append
    loads r6, EMPTY
append:
    itob r7, r1
    concat r6, r6, r7
    host r7, time
    itob r7, r7
    concat r22, r6, r7
    host r6, put, r21
    lt r6, r15, r1
    jz r6, nofloor
    move r15, r1
    host r14, time
nofloor:
    loadi r6, 0
    loadi r7, 8
    slice r6, r19, r6           ; version:8
    itob r7, r16
    concat r6, r6, r7
    itob r7, r15
    concat r6, r6, r7
    itob r7, r14
    concat r6, r6, r7
    move r7, r19
    loadi r8, 32
    call r7, tail, 2
    concat r22, r6, r7
    loads r6, K_TRIAL
    concat r21, r6, r20
    host r6, put, r21
    loads r6, TOP_APPROVED
    move r7, r20
    move r8, r1
    move r9, r17
    call r6, emit_ints, 4
    ret r1

; activate(trial, site) -> 1. The trial's sponsor activates a listed site.
;@abi activate bytes bytes
.func activate 2 24 export
    move r6, r0
    call r6, sponsor_approved, 1
    move r20, r6
    move r6, r1
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    loads r6, K_SITE
    concat r6, r6, r20
    concat r21, r6, r1
    move r6, r21
    loadk r7, E_NO_SITE
    call r6, must_get, 2
    loadi r7, 0
    call r6, int_at, 2
    jz r6, fresh
    loadk r6, E_SITE_ACTIVE
    abort r6
fresh:
    host r22, time
    itob r22, r22
    host r6, put, r21
    loads r21, TOP_ACTIVATED
    concat r22, r20, r1
    host r6, emit, r21
    loadi r6, 1
    ret r6

; add_site(trial, site) -> 1. The trial's sponsor lists a site after registration (a site
; joining the trial, issue 23), inactive until `activate`; its investigators are the
; authorities of that site (genesis, or added by governance.authority). SITE_LISTED if the
; site is listed already.
;@abi add_site bytes bytes
.func add_site 2 24 export
    move r6, r0
    call r6, trial_arg, 1
    move r20, r6                ; T
    call r6, sponsor_rec, 1
    move r6, r1
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    loads r6, K_SITE
    concat r6, r6, r20
    concat r21, r6, r1
    host r6, get, r21
    type r6, r6
    jz r6, fresh
    loadk r6, E_SITE_LISTED
    abort r6
fresh:
    loadi r22, 0
    itob r22, r22
    host r6, put, r21
    loads r21, TOP_SITE_ADDED
    concat r22, r20, r1
    host r6, emit, r21
    loadi r6, 1
    ret r6
