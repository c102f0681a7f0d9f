; outcomes.s - the sponsor reports outcomes; switches are flagged for the regulator.
;   outcomes/n/T          reports:8
;   outcomes/r/T n:8      time:8 flags:8 n_primary:8 primary:32*n secondary:32*m
; Reported outcomes are matched against the PRE-REGISTERED ones (version 1's
; protocol/o/ record). Each of these emits a flag event: a reported primary outcome that
; was pre-registered as secondary (primary_switched), a reported outcome not pre-registered
; at all (not_preregistered), a pre-registered primary outcome not reported as primary
; (primary_unreported).
.bytes K_OUTCOMES "protocol/o/"
.bytes K_COUNT "outcomes/n/"
.bytes K_REPORT "outcomes/r/"
.bytes TOP_REPORTED "outcome.reported"
.bytes TOP_UNREGISTERED "outcome.flag.not_preregistered"
.bytes TOP_MISSING "outcome.flag.primary_unreported"
.bytes TOP_SWITCHED "outcome.flag.primary_switched"

; flag_against(T, list, against, topic, present) -> number of 32-byte entries of list that
; are (present 1) or are not (present 0) in against, each emitted as topic with data T .. hash
.func flag_against 5 16
    len r5, r1
    loadi r6, 0                 ; offset
    loadi r7, 0                 ; flags
loop:
    lt r8, r6, r5
    jz r8, done
    move r8, r1
    move r9, r6
    call r8, hash_at, 2
    move r12, r8
    move r9, r2
    move r10, r8
    call r9, contains, 2
    ne r9, r9, r4
    jnz r9, next
    move r13, r3
    concat r14, r0, r12
    host r8, emit, r13
    addi r7, r7, 1
next:
    addi r6, r6, 32
    jmp loop
done:
    ret r7

; report(trial, primary, secondary) -> number of flags. primary 32*(1..4), secondary
; 32*(0..16): the report says which outcomes it reports as primary.
;@abi report bytes bytes bytes
.func report 3 28 export
    move r6, r0
    call r6, sponsor_approved, 1
    move r20, r6
    move r6, r1
    move r7, r2
    call r6, check_outcomes, 2
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
    slice r18, r19, r6          ; pre-registered primary
    addi r6, r7, 8
    move r7, r19
    move r8, r6
    call r7, tail, 2
    move r15, r7                ; pre-registered secondary
    move r6, r19
    loadi r7, 8
    call r6, tail, 2
    move r17, r6                ; pre-registered primary .. secondary
    loadi r16, 0                ; flags
    move r6, r20                ; a reported primary that was pre-registered as secondary
    move r7, r1
    move r8, r15
    loads r9, TOP_SWITCHED
    loadi r10, 1
    call r6, flag_against, 5
    add r16, r16, r6
    move r6, r20                ; reported outcomes never pre-registered
    concat r7, r1, r2
    move r8, r17
    loads r9, TOP_UNREGISTERED
    loadi r10, 0
    call r6, flag_against, 5
    add r16, r16, r6
    move r6, r20                ; pre-registered primaries not reported as primary
    move r7, r18
    move r8, r1
    loads r9, TOP_MISSING
    loadi r10, 0
    call r6, flag_against, 5
    add r16, r16, r6
    loads r6, K_COUNT
    concat r6, r6, r20
    call r6, bump, 1
    move r15, r6                ; this report's number
    loads r6, K_REPORT
    concat r6, r6, r20
    itob r7, r15
    concat r21, r6, r7
    host r6, time
    itob r6, r6
    itob r7, r16
    concat r6, r6, r7
    len r7, r1
    divk r7, r7, THIRTYTWO
    itob r7, r7
    concat r6, r6, r7
    concat r6, r6, r1
    concat r22, r6, r2
    host r6, put, r21
    loads r6, TOP_REPORTED
    move r7, r20
    move r8, r15
    move r9, r16
    call r6, emit_ints, 4
    ret r16
