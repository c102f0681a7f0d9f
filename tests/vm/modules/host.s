; host.s - every host function
.bytes PREFIX "p/"
.bytes NONE ""
.bytes A "p/a"
.bytes B "p/b"
.bytes V "v"
.bytes TOPIC "t"

.func identity 0 8 export      ; sha256(caller .. txid) .. itob(role*1000 + height)
    host r0, caller
    host r1, txid
    concat r0, r0, r1
    host r0, sha256, r0
    host r1, role
    mulk r1, r1, THOUSAND
    host r2, height
    add r1, r1, r2
    itob r1, r1
    concat r0, r0, r1
    ret r0

.func cosign 1 6 export        ; (i) -> key[0] * 10000 + role * 100 + meaning
    host r1, cosigner_key, r0
    loadi r2, 0
    byteat r1, r1, r2
    mulk r1, r1, TENTHOUSAND
    host r2, cosigner_role, r0
    mulk r2, r2, HUNDRED
    add r1, r1, r2
    host r2, cosigner_meaning, r0
    add r1, r1, r2
    host r3, cosigners
    mulk r3, r3, MILLION
    add r1, r1, r3
    ret r1

.func list 1 6 export          ; keys("p/", "", n) after putting p/b in this tx and deleting p/a
    loads r1, B
    loads r2, V
    host r3, put, r1
    loads r1, A
    host r3, del, r1
    loads r1, PREFIX
    loads r2, NONE
    move r3, r0
    host r4, keys, r1
    ret r4

.func clock 0 3 export        ; time + nargs (0)
    host r0, time
    nargs r1
    add r0, r0, r1
    ret r0
.int THOUSAND 1000
.int TENTHOUSAND 10000
.int HUNDRED 100
.int MILLION 1000000
