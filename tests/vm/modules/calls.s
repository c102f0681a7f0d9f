; calls.s - calls inside the module
.func fib 1 4 export
    loadi r1, 2
    lt r2, r0, r1
    jnz r2, base
    addi r1, r0, -1
    call r1, fib, 1
    addi r2, r0, -2
    call r2, fib, 1
    add r1, r1, r2
    ret r1
base:
    ret r0

.func deep 1 3 export          ; recurses n times (call depth n)
    jz r0, out
    addi r1, r0, -1
    call r1, deep, 1
    ret r1
out:
    ret r0

.func add3 3 3
    add r0, r0, r1
    add r0, r0, r2
    ret r0

.func use_add3 0 6 export      ; caller registers outside the call window survive
    loadi r5, 77
    loadi r1, 1
    loadi r2, 2
    loadi r3, 3
    call r1, add3, 3
    add r0, r1, r5
    ret r0
