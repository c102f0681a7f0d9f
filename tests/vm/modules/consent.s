; consent.s - a small consent contract.
; state "consent:" .. participant = 8-byte big-endian scope bitmask .. 8-byte expiry (ms)
.bytes PREFIX "consent:"
.bytes TOPIC_GRANT "consent.granted"
.bytes TOPIC_WITHDRAW "consent.withdrawn"

.func key_for 1 3              ; participant -> state key
    loads r1, PREFIX
    concat r2, r1, r0
    ret r2

.func check 2 8 export         ; (participant, scope bit) -> 1 if consented and not expired
    move r2, r0
    call r2, key_for, 1
    host r3, get, r2
    type r4, r3
    jz r4, no                  ; absent: get returned int 0
    loadi r5, 0
    loadi r6, 8
    slice r4, r3, r5
    btoi r4, r4
    loadi r5, 1
    shl r5, r5, r1
    band r4, r4, r5
    jz r4, no
    loadi r5, 8
    slice r4, r3, r5           ; bytes 8..16: expiry
    btoi r4, r4
    host r5, time
    le r4, r5, r4
    ret r4
no:
    loadi r4, 0
    ret r4

.func grant 3 9 export         ; (participant, scope bit, expiry ms) -> new mask
    move r3, r0
    call r3, key_for, 1
    host r4, get, r3
    loadi r5, 0
    type r6, r4
    jz r6, fresh
    loadi r7, 0
    loadi r8, 8
    slice r6, r4, r7
    btoi r5, r6
fresh:
    loadi r6, 1
    shl r6, r6, r1
    bor r5, r5, r6
    itob r6, r5
    itob r7, r2
    concat r6, r6, r7
    move r7, r3
    move r8, r6
    host r4, put, r7
    loads r7, TOPIC_GRANT
    move r8, r3
    host r4, emit, r7
    ret r5

.func withdraw 2 9 export      ; (participant, scope bit) -> new mask; abort 2 if none
    move r3, r0
    call r3, key_for, 1
    host r4, get, r3
    type r5, r4
    jnz r5, found
    loadi r5, 2
    abort r5
found:
    loadi r7, 0
    loadi r8, 8
    slice r5, r4, r7
    btoi r5, r5
    loadi r6, 1
    shl r6, r6, r1
    bnot r6, r6
    band r5, r5, r6
    itob r6, r5
    loadi r7, 8
    slice r7, r4, r7
    concat r6, r6, r7
    move r7, r3
    move r8, r6
    host r2, put, r7
    loads r7, TOPIC_WITHDRAW
    move r8, r3
    host r2, emit, r7
    ret r5

.func forget 1 3 export        ; (participant) -> 0; deletes the record
    move r1, r0
    call r1, key_for, 1
    host r2, del, r1
    ret r2
