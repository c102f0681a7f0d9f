; loop.s - the benchmark loop: s = (s + i*i) % 1000003 for i = 1..n
.int M 1000003

.func sumsq 1 5 export
    loadi r1, 0            ; s
    loadi r2, 1            ; i
    move r3, r0            ; limit (forloop reads r2 + 1)
    lt r4, r3, r2
    jnz r4, done
loop:
    mul r4, r2, r2
    add r1, r1, r4
    modk r1, r1, M
    forloop r2, loop
done:
    ret r1
