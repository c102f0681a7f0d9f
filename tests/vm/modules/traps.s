; traps.s - a trap or an abort after a write leaves no writes behind
.bytes K "k"
.bytes V "v"
.bytes TOPIC "t"

.func put_then_trap 1 5 export     ; put k=v, emit, then a / 0
    loads r1, K
    loads r2, V
    host r3, put, r1
    loads r3, TOPIC
    host r4, emit, r2
    loadi r3, 0
    div r3, r0, r3
    ret r3

.func put_then_abort 1 4 export    ; put k=v, then abort with code a
    loads r1, K
    loads r2, V
    host r3, put, r1
    abort r0

.func put_ok 0 4 export            ; put k=v, read it back from the write buffer
    loads r1, K
    loads r2, V
    host r3, put, r1
    host r3, get, r1
    ret r3

.func spin 0 2 export              ; never ends: only gas stops it
loop:
    addi r0, r0, 1
    jmp loop

.func type_error 0 3 export        ; int + bytes
    loads r1, K
    add r2, r0, r1
    ret r2

.func args 2 4 export              ; arg 1 via ARG, nargs, then arg 5 (traps)
    arg r2, 1
    nargs r3
    add r2, r2, r3
    arg r3, 5
    ret r2
