; arith.s - integer arithmetic, bit operations and traps
.int BIG 9223372036854775807
.int M 1000003

.func calc 2 8 export          ; (a, b) -> mixes every arithmetic and bit op
    add r2, r0, r1
    sub r3, r0, r1
    mul r4, r2, r3
    modk r4, r4, M
    band r5, r0, r1
    bor r6, r0, r1
    bxor r7, r5, r6
    add r2, r4, r7
    divk r3, r2, M
    sub r2, r2, r3
    ret r2

.func overflow 1 3 export      ; BIG + a: traps for a > 0
    loadk r1, BIG
    add r2, r1, r0
    ret r2

.func divide 2 3 export        ; a / b, traps on b == 0
    div r2, r0, r1
    ret r2

.func shifts 2 4 export        ; (a << b) ^ (a >> b)
    shl r2, r0, r1
    shr r3, r0, r1
    bxor r2, r2, r3
    ret r2
