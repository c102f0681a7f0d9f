; access.s - a researcher's data-access request, answered and logged on the ledger.
;   access/n/T           grants:8
;   access/g/T n:8       researcher:32 scope:8 time:8 list_hash:32 count:8 lp(purpose) hashes
; Eligible records: the anchored records OF THE SCOPE (data/p/T pk scope:8 *) of each
; participant whose consent IN FORCE BEFORE THIS BLOCK (at block time - 1 ms) includes the
; scope under a version no re-consent approval before this block superseded; a record of
; another scope is never released by this grant. A withdrawal or an approval in the same
; block counts from the next block on, whatever the order of the txs inside the block.
; At most 100 records per grant (TOO_MANY beyond: deliberately simple, see ABI.md).
.bytes K_BYPK "data/p/"
.bytes K_COUNT "access/n/"
.bytes K_GRANT "access/g/"
.bytes TOP_GRANTED "access.granted"
.int RECORDS_MAX 100
.int PAGE 64

; records_of(prefix, list) -> list .. the last 32 bytes of every key under prefix
.func records_of 2 14
    loads r2, EMPTY             ; after
page:
    move r3, r0
    move r4, r2
    loadk r5, PAGE
    host r6, keys, r3
    len r7, r6
    jz r7, done
    loadi r8, 0                 ; pos
item:
    lt r9, r8, r7
    jz r9, page
    loadi r10, 2
    move r9, r8
    slice r9, r6, r9
    btoi r9, r9                 ; key length
    addi r10, r8, 2
    move r11, r9
    slice r2, r6, r10           ; key (becomes `after`)
    add r8, r10, r11
    addi r10, r11, -32
    loadi r11, 32
    slice r12, r2, r10          ; content hash
    concat r1, r1, r12
    len r12, r1
    divk r12, r12, THIRTYTWO
    loadk r13, RECORDS_MAX
    lt r12, r13, r12
    jz r12, item
    loadk r12, E_TOO_MANY
    abort r12
done:
    ret r1

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

; eligible(T, scope, now) -> concatenated content hashes of eligible records
.func eligible 3 22
    loads r3, K_STATUS
    concat r3, r3, r0           ; status prefix
    loads r4, EMPTY             ; list
    loads r5, EMPTY             ; after
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
    move r16, r0
    call r16, reconsent_floor, 2
    loadi r17, 0
    lt r17, r16, r17
    jnz r17, current            ; no re-consent version above it is approved
    lt r16, r16, r2
    jnz r16, item               ; superseded by an approval before this block
current:
    loads r17, K_BYPK
    concat r17, r17, r0
    concat r17, r17, r20
    itob r18, r1
    concat r17, r17, r18        ; only this scope's records
    move r18, r4
    call r17, records_of, 2
    move r4, r17
    jmp item
done:
    ret r4

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
    concat r6, r6, r7
    concat r22, r6, r18
    host r6, put, r21
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
