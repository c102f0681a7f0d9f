; outcomes.s - the sponsor reports outcomes; switches are flagged for the regulator.
;   outcomes/n/T          reports:8
;   outcomes/r/T n:8      time:8 flags:8 reported hashes
; Reported outcomes are matched against the PRE-REGISTERED ones (version 1's
; protocol/o/ record): a reported outcome not among them, and a pre-registered primary
; outcome left unreported, each emit a flag event.
.bytes K_OUTCOMES "protocol/o/"
.bytes K_COUNT "outcomes/n/"
.bytes K_REPORT "outcomes/r/"
.bytes TOP_REPORTED "outcome.reported"
.bytes TOP_UNREGISTERED "outcome.flag.not_preregistered"
.bytes TOP_MISSING "outcome.flag.primary_unreported"

; flag_missing(T, list, against, topic) -> number of 32-byte entries of list not in against,
; each emitted as topic with data T .. hash
.func flag_missing 4 14
    len r4, r1
    loadi r5, 0                 ; offset
    loadi r6, 0                 ; flags
loop:
    lt r7, r5, r4
    jz r7, done
    move r7, r1
    move r8, r5
    call r7, hash_at, 2
    move r11, r7
    move r8, r2
    move r9, r7
    call r8, contains, 2
    jnz r8, next
    move r12, r3
    concat r13, r0, r11
    host r8, emit, r12
    addi r6, r6, 1
next:
    addi r5, r5, 32
    jmp loop
done:
    ret r6

; report(trial, outcome_hashes) -> number of flags
.func report 2 28 export
    move r6, r0
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    call r6, lp, 1
    move r20, r6
    call r6, trial_rec, 1
    call r6, require_sponsor, 1
    move r6, r1
    loadi r7, 1
    loadi r8, 8
    call r6, check_hashes, 3
    loads r6, K_OUTCOMES
    concat r6, r6, r20
    loadi r7, 1
    itob r7, r7
    concat r6, r6, r7
    loadk r7, E_NO_VERSION
    call r6, must_get, 2
    move r19, r6                ; pre-registered outcomes
    loadi r7, 0
    call r6, int_at, 2
    mulk r6, r6, THIRTYTWO
    move r7, r6
    loadi r6, 8
    slice r18, r19, r6          ; primary
    move r6, r19
    loadi r7, 8
    call r6, tail, 2
    move r17, r6                ; primary .. secondary
    move r6, r20
    move r7, r1
    move r8, r17
    loads r9, TOP_UNREGISTERED
    call r6, flag_missing, 4
    move r16, r6
    move r6, r20
    move r7, r18
    move r8, r1
    loads r9, TOP_MISSING
    call r6, flag_missing, 4
    add r16, r16, r6            ; flags
    loads r6, K_COUNT
    concat r21, r6, r20
    host r6, get, r21
    loadi r15, 0
    type r7, r6
    jz r7, first
    loadi r7, 0
    call r6, int_at, 2
    move r15, r6
first:
    addi r6, r15, 1
    itob r22, r6
    host r6, put, r21
    loads r6, K_REPORT
    concat r6, r6, r20
    itob r7, r15
    concat r21, r6, r7
    host r6, time
    itob r6, r6
    itob r7, r16
    concat r6, r6, r7
    concat r22, r6, r1
    host r6, put, r21
    loads r21, TOP_REPORTED
    itob r6, r15
    concat r22, r20, r6
    itob r6, r16
    concat r22, r22, r6
    host r6, emit, r21
    ret r16
