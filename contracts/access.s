; access.s - a researcher's data-access request, answered and logged on the ledger.
;   access/n/T           grants:8
;   access/g/T n:8       researcher:32 scope:8 time:8 list_hash:32 count:8 lp(purpose)
;   access/l/T n:8 c:8   hashes:32 x (1..64): records 64c .. 64c+63 of the grant's list
; Eligible records: the anchored records OF THE SCOPE (data/p/T pk scope:8 *) of each
; participant whose consent IN FORCE BEFORE THIS BLOCK (at block time - 1 ms) includes the
; scope under a version no re-consent approval before this block superseded; a record of
; another scope is never released by this grant. A withdrawal or an approval in the same
; block counts from the next block on, whatever the order of the txs inside the block.
; At most RECORDS_MAX records per grant (TOO_MANY beyond). The bound comes from the VM's
; per-call arena (256 KiB by default): the list is built in memory to hash it, through a
; tail of 16 hashes appended to the list when full, which allocates about
; 16 x N x 17 + 16 x N^2 bytes for N records (about 180 KiB at 300 with the keys pages).
; The list is stored in chunks of 64 hashes (a state value holds at most 4096 bytes);
; the researcher reads it through the node's grant-records query, in pages.
.bytes K_BYPK "data/p/"
.bytes K_COUNT "access/n/"
.bytes K_GRANT "access/g/"
.bytes K_LIST "access/l/"
.bytes TOP_GRANTED "access.granted"
.int RECORDS_MAX 300
.int PAGE 64
.int TAIL_BYTES 512
.int CHUNK_BYTES 2048

; consent_before(T, pk, status, now) -> [scopes, version] of the participant's consent in
; force at now - 1 (its status if it last changed before this block, else the history entry
; then in force), or the int 0 if there was none.
.func consent_before 4 12
    move r4, r2
    loadi r5, 16
    call r4, int_at, 2          ; since: the time of the last change
    lt r4, r4, r3
    jz r4, changed
    move r4, r2
    loadi r5, 0
    call r4, int_at, 2
    move r5, r2
    loadi r6, 8
    call r5, int_at, 2
    jmp pair
changed:
    move r4, r0
    move r5, r1
    addi r6, r3, -1
    call r4, entry_at, 3
    type r5, r4
    jz r5, none
    move r7, r4                 ; the entry
    move r8, r7
    loadi r9, 24
    call r8, int_at, 2          ; version
    move r4, r7
    loadi r5, 16
    call r4, int_at, 2          ; scopes after the change
    move r5, r8
pair:
    itob r4, r4
    itob r5, r5
    concat r4, r4, r5
    ret r4
none:
    loadi r4, 0
    ret r4

; floor_in(list, version) -> reconsent_floor(T, version) over list, the value of
; protocol/r/T (or the int 0 when absent) read once by the caller: the earliest approval
; time of a re-consent version above version, or -1. (Saves eligible a storage read per
; participant: reconsent_floor reads the key on every call.)
.func floor_in 2 10
    loadi r3, -1
    type r4, r0
    jz r4, done
    len r4, r0
    loadi r5, 0                 ; offset
loop:
    lt r6, r5, r4
    jz r6, done
    move r6, r0
    move r7, r5
    call r6, int_at, 2          ; version
    lt r6, r1, r6
    jz r6, next                 ; not above the consent's version
    move r6, r0
    addi r7, r5, 8
    call r6, int_at, 2          ; approved_at
    loadi r8, 0
    lt r8, r3, r8
    jnz r8, take                ; the first one found
    lt r8, r6, r3
    jz r8, next
take:
    move r3, r6
next:
    addi r5, r5, 16
    jmp loop
done:
    ret r3

; eligible(T, scope, now) -> concatenated content hashes of eligible records, in key order
; (participant key, then content hash); aborts TOO_MANY beyond RECORDS_MAX.
;   r4 list, r21 tail (< 16 hashes), r22 count
.func eligible 3 35
    loads r34, K_RECONSENT
    concat r34, r34, r0
    host r34, get, r34          ; the re-consent list (int 0 if none), read once per request
    loads r3, K_STATUS
    concat r3, r3, r0           ; status prefix
    loads r4, EMPTY             ; list
    loads r5, EMPTY             ; after
    loads r21, EMPTY            ; tail
    loadi r22, 0                ; count
page:
    move r6, r3
    move r7, r5
    loadk r8, PAGE
    host r9, keys, r6
    len r10, r9
    jz r10, done
    loadi r11, 0
item:
    lt r12, r11, r10
    jz r12, page
    move r12, r11
    loadi r13, 2
    slice r12, r9, r12
    btoi r12, r12
    addi r13, r11, 2
    move r14, r12
    slice r5, r9, r13           ; status key
    add r11, r13, r14
    len r16, r5
    addi r16, r16, -32
    loadi r17, 32
    slice r20, r5, r16          ; participant key
    move r16, r0
    move r17, r20
    host r18, get, r5
    move r19, r2
    call r16, consent_before, 4
    type r17, r16
    jz r17, item                ; no consent before this block
    move r17, r16
    loadi r18, 0
    call r17, int_at, 2
    band r17, r17, r1
    jz r17, item                ; scope not granted before this block
    loadi r17, 8
    call r16, int_at, 2         ; version
    move r17, r16
    move r16, r34               ; the re-consent list, read once
    call r16, floor_in, 2
    loadi r17, 0
    lt r17, r16, r17
    jnz r17, current            ; no re-consent version above it is approved
    lt r16, r16, r2
    jnz r16, item               ; superseded by an approval before this block
current:
    loads r23, K_BYPK
    concat r23, r23, r0
    concat r23, r23, r20
    itob r24, r1
    concat r23, r23, r24        ; only this scope's records
    loads r24, EMPTY            ; after (this participant's records)
rpage:
    move r25, r23
    move r26, r24
    loadk r27, PAGE
    host r28, keys, r25
    len r29, r28
    jz r29, item                ; this participant's records done
    loadi r30, 0                ; pos
ritem:
    lt r31, r30, r29
    jz r31, rpage
    loadi r32, 2
    move r31, r30
    slice r31, r28, r31
    btoi r31, r31               ; key length
    addi r32, r30, 2
    move r33, r31
    slice r24, r28, r32         ; key (becomes `after`)
    add r30, r32, r33
    addi r32, r33, -32
    loadi r33, 32
    slice r31, r24, r32         ; content hash
    concat r21, r21, r31
    addi r22, r22, 1
    loadk r31, RECORDS_MAX
    lt r31, r31, r22
    jnz r31, too_many
    len r31, r21
    loadk r32, TAIL_BYTES
    lt r31, r31, r32
    jnz r31, ritem
    concat r4, r4, r21          ; the tail is full: onto the list
    loads r21, EMPTY
    jmp ritem
too_many:
    loadk r31, E_TOO_MANY
    abort r31
done:
    concat r4, r4, r21
    ret r4

; store_list(key, list) -> 0: the list in chunks of 64 hashes, key .. c:8 for chunk c
.func store_list 2 10
    loadi r2, 0                 ; offset
    loadi r3, 0                 ; chunk number
    len r4, r1
chunk:
    lt r5, r2, r4
    jz r5, stored
    sub r6, r4, r2              ; bytes left
    loadk r7, CHUNK_BYTES
    lt r8, r7, r6
    jz r8, short
    move r6, r7
short:
    move r7, r6
    move r6, r2
    slice r9, r1, r6            ; list[offset .. offset + min(left, 2048))
    itob r6, r3
    concat r8, r0, r6
    host r6, put, r8
    loadk r7, CHUNK_BYTES
    add r2, r2, r7
    addi r3, r3, 1
    jmp chunk
stored:
    loadi r2, 0
    ret r2

; request(trial, scope, purpose_code) -> number of eligible records
;@abi request bytes int bytes
.func request 3 28 export
    loadk r6, ROLE_RESEARCHER
    loadk r7, E_NOT_RESEARCHER
    move r8, r0
    call r6, role_trial, 3
    move r20, r6
    call r6, trial_rec, 1       ; the trial exists
    host r19, time              ; decided on the consent in force before this block
    move r6, r1
    call r6, check_scope, 1
    move r6, r2
    loadi r7, 1
    loadi r8, 32
    call r6, check_bytes, 3
    move r6, r20
    move r7, r1
    move r8, r19
    call r6, eligible, 3
    move r18, r6                ; list
    host r17, sha256, r18
    len r16, r18
    divk r16, r16, THIRTYTWO    ; count
    loads r6, K_COUNT
    concat r6, r6, r20
    call r6, bump, 1
    move r15, r6                ; this grant's number
    loads r6, K_GRANT
    concat r6, r6, r20
    itob r7, r15
    concat r21, r6, r7
    host r6, caller
    itob r7, r1
    concat r6, r6, r7
    host r7, time
    itob r7, r7
    concat r6, r6, r7
    concat r6, r6, r17
    itob r7, r16
    concat r6, r6, r7
    move r7, r2
    call r7, lp, 1
    concat r22, r6, r7
    host r6, put, r21
    loads r6, K_LIST
    concat r6, r6, r20
    itob r7, r15
    concat r6, r6, r7
    move r7, r18
    call r6, store_list, 2
    loads r21, TOP_GRANTED
    itob r6, r15
    concat r22, r20, r6
    itob r6, r1
    concat r22, r22, r6
    itob r6, r16
    concat r22, r22, r6
    concat r22, r22, r17
    host r6, emit, r21
    ret r16
