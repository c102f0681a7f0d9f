; bytes.s - byte-string operations
.bytes HELLO "hello"
.bytes WORLD ", world"
.bytes BIN x"00ff10"
.bytes EMPTY ""

.func greet 0 4 export
    loads r0, HELLO
    loads r1, WORLD
    concat r2, r0, r1
    ret r2

.func measure 1 2 export       ; len(arg)
    len r1, r0
    ret r1

.func roundtrip 1 4 export     ; btoi(itob(a)) - a + len(itob(a)) = 8
    itob r1, r0
    btoi r2, r1
    sub r2, r2, r0
    len r3, r1
    add r2, r2, r3
    ret r2

.func middle 3 5 export        ; arg0[arg1 .. arg1 + arg2)
    move r3, r1
    move r4, r2
    slice r0, r0, r3
    ret r0

.func at 2 3 export            ; byte arg1 of arg0
    byteat r2, r0, r1
    ret r2

.func order 2 3 export         ; bcmp(a, b) * 10 + (a == b)
    bcmp r2, r0, r1
    mulk r2, r2, k0
    eq r1, r0, r1
    add r2, r2, r1
    ret r2
.int TEN 10
