/*
 * cvm.h - consent-vm: a small, verified, gas-metered, deterministic register VM.
 *
 * This is the ONE public header of consent-vm. It depends on libc only: the embedder
 * supplies state, hashing and identity through the host table (struct cvm_host) and the
 * per-call environment (struct cvm_env). docs/VM.md is the long form of this header.
 *
 * Ownership in one paragraph: a cvm_module owns a private copy of the bytes it was loaded
 * from (the caller may free its buffer after cvm_module_load). A cvm_vm owns its register
 * stack, call frames, arena, write buffer and event buffer, all allocated once in
 * cvm_vm_new. Every pointer found in a cvm_result (result bytes, writes, events) points
 * into the vm's arena, the module's constants or the caller's arguments and stays valid
 * until the next cvm_call on the same vm, or cvm_vm_free / cvm_module_free.
 *
 * ---------------------------------------------------------------------------------------
 * Instruction bit layout (fixed 32 bits, stored little-endian in a module):
 *
 *     31        24 23        16 15         8 7          0
 *    +-----------+------------+------------+------------+
 *    |     C     |     B      |     A      |     op     |  iABC
 *    +-----------+------------+------------+------------+
 *    |          Bx (u16)      |     A      |     op     |  iABx
 *    +------------------------+------------+------------+
 *    |          sBx (s16)     |     A      |     op     |  iAsBx
 *    +------------------------+------------+------------+
 *    |                 sJ (s24)            |     op     |  isJ
 *    +-------------------------------------+------------+
 *
 * Jumps are relative to the NEXT instruction: target = pc + 1 + offset, and must land
 * inside the same function. Signed fields are two's complement.
 * ---------------------------------------------------------------------------------------
 */
#ifndef CVM_H
#define CVM_H

#include <stddef.h>
#include <stdint.h>

/* ---- instruction fields ------------------------------------------------------------- */
#define CVM_GET_OP(i) ((unsigned)((i) & 0xffu))
#define CVM_GET_A(i) ((unsigned)(((i) >> 8) & 0xffu))
#define CVM_GET_B(i) ((unsigned)(((i) >> 16) & 0xffu))
#define CVM_GET_C(i) ((unsigned)(((i) >> 24) & 0xffu))
#define CVM_GET_SC(i) ((int)(int8_t)(uint8_t)((i) >> 24))
#define CVM_GET_BX(i) ((unsigned)(((i) >> 16) & 0xffffu))
#define CVM_GET_SBX(i) ((int)(int16_t)(uint16_t)((i) >> 16))
/* sJ: bits 8..31 as a signed 24-bit value. Written without a right shift of a negative
 * value or a conversion of an out-of-range unsigned value to a signed type (both
 * implementation-defined in C11): the 24-bit field is read unsigned, then 2^24 is
 * subtracted when its sign bit (bit 23) is set. */
#define CVM_GET_SJ(i)                                                                        \
    ((int32_t)(((uint32_t)(i) >> 8) & 0x7fffffu) - (int32_t)(((uint32_t)(i) >> 8) & 0x800000u))

#define CVM_MK_ABC(op, a, b, c)                                                              \
    ((uint32_t)(op) | ((uint32_t)(a) << 8) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 24))
#define CVM_MK_ABX(op, a, bx) ((uint32_t)(op) | ((uint32_t)(a) << 8) | ((uint32_t)(bx) << 16))
#define CVM_MK_ASBX(op, a, sbx) CVM_MK_ABX(op, a, (uint16_t)(int16_t)(sbx))
#define CVM_MK_SJ(op, sj) ((uint32_t)(op) | (((uint32_t)(sj) & 0xffffffu) << 8))

/* Instruction formats. */
enum cvm_format { CVM_FMT_ABC, CVM_FMT_ABX, CVM_FMT_ASBX, CVM_FMT_SJ };

/*
 * Operand kinds, one per field (A, B, C; for iABx/iAsBx B names the Bx/sBx field and C is
 * CVM_K_NONE; for isJ, A names sJ). The verifier, assembler and disassembler read them.
 *   NONE  field must be 0          REG   register index < nregs of the function
 *   KINT  int constant index       KBYT  byte-string constant index
 *   IMM   unsigned immediate       SIMM  signed immediate (sC, sBx)
 *   JUMP  relative jump (sBx, sJ)  FUNC  function index
 *   HOST  host function id
 */
enum cvm_operand_kind {
    CVM_K_NONE,
    CVM_K_REG,
    CVM_K_KINT,
    CVM_K_KBYT,
    CVM_K_IMM,
    CVM_K_SIMM,
    CVM_K_JUMP,
    CVM_K_FUNC,
    CVM_K_HOST
};

/*
 * THE opcode table. One line per opcode:
 *   X(ENUM, name, format, kind A, kind B, kind C, gas, effect)
 * Gas is the base cost charged before the instruction runs (gas schedule 1, below, lists
 * what is added by bytes touched). "trap" lists the runtime errors.
 * Arithmetic is on int64; every trap leaves no writes.
 */
#define CVM_OPCODES(X)                                                                        \
    X(NOP, "nop", CVM_FMT_ABC, CVM_K_NONE, CVM_K_NONE, CVM_K_NONE, 1, "no effect")            \
    X(MOVE, "move", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 1, "R[A] = R[B]")          \
    X(LOADI, "loadi", CVM_FMT_ASBX, CVM_K_REG, CVM_K_SIMM, CVM_K_NONE, 1, "R[A] = sBx")       \
    X(LOADK, "loadk", CVM_FMT_ABX, CVM_K_REG, CVM_K_KINT, CVM_K_NONE, 1, "R[A] = KINT[Bx]")   \
    X(LOADS, "loads", CVM_FMT_ABX, CVM_K_REG, CVM_K_KBYT, CVM_K_NONE, 1, "R[A] = KBYT[Bx]")   \
    X(ADD, "add", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] + R[C]; trap overflow") \
    X(SUB, "sub", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] - R[C]; trap overflow") \
    X(MUL, "mul", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] * R[C]; trap overflow") \
    X(DIV, "div", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 2, "R[A] = R[B] / R[C] (truncated); trap div0, overflow") \
    X(MOD, "mod", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 2, "R[A] = R[B] % R[C] (sign of B); trap div0") \
    X(ADDI, "addi", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_SIMM, 1, "R[A] = R[B] + sC; trap overflow") \
    X(ADDK, "addk", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_KINT, 1, "R[A] = R[B] + KINT[C]; trap overflow") \
    X(SUBK, "subk", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_KINT, 1, "R[A] = R[B] - KINT[C]; trap overflow") \
    X(MULK, "mulk", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_KINT, 1, "R[A] = R[B] * KINT[C]; trap overflow") \
    X(DIVK, "divk", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_KINT, 2, "R[A] = R[B] / KINT[C]; trap div0, overflow") \
    X(MODK, "modk", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_KINT, 2, "R[A] = R[B] % KINT[C]; trap div0") \
    X(NEG, "neg", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 1, "R[A] = -R[B]; trap overflow") \
    X(BAND, "band", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] & R[C]")     \
    X(BOR, "bor", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] | R[C]")       \
    X(BXOR, "bxor", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] ^ R[C]")     \
    X(BNOT, "bnot", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 1, "R[A] = ~R[B]")         \
    X(SHL, "shl", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] << R[C] (bits shifted out are lost); trap range unless 0<=R[C]<=63") \
    X(SHR, "shr", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] >> R[C] (logical); trap range unless 0<=R[C]<=63") \
    X(EQ, "eq", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] == R[C] (any types; 0 if types differ); bytes: +1 +bytes of both / 8") \
    X(NE, "ne", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] != R[C] (any types); bytes: +1 +bytes of both / 8") \
    X(LT, "lt", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] < R[C] (ints)")  \
    X(LE, "le", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B] <= R[C] (ints)") \
    X(JMP, "jmp", CVM_FMT_SJ, CVM_K_JUMP, CVM_K_NONE, CVM_K_NONE, 1, "pc += sJ")              \
    X(JZ, "jz", CVM_FMT_ASBX, CVM_K_REG, CVM_K_JUMP, CVM_K_NONE, 1, "if R[A] == 0 (int) then pc += sBx") \
    X(JNZ, "jnz", CVM_FMT_ASBX, CVM_K_REG, CVM_K_JUMP, CVM_K_NONE, 1, "if R[A] != 0 (int) then pc += sBx") \
    X(FORLOOP, "forloop", CVM_FMT_ASBX, CVM_K_REG, CVM_K_JUMP, CVM_K_NONE, 1, "R[A] += 1; if R[A] <= R[A+1] then pc += sBx") \
    X(CALL, "call", CVM_FMT_ABC, CVM_K_REG, CVM_K_FUNC, CVM_K_IMM, 5, "R[A] = F[B](R[A..A+C-1]); C must equal F[B].nparams; +F[B].nregs / 4") \
    X(RET, "ret", CVM_FMT_ABC, CVM_K_REG, CVM_K_NONE, CVM_K_NONE, 1, "return R[A]")          \
    X(ABORT, "abort", CVM_FMT_ABC, CVM_K_REG, CVM_K_NONE, CVM_K_NONE, 1, "contract refusal with reason code R[A] (int); no writes") \
    X(LEN, "len", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 1, "R[A] = length of bytes R[B]") \
    X(CONCAT, "concat", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 2, "R[A] = R[B] .. R[C] (bytes); +1 gas / 8 bytes") \
    X(SLICE, "slice", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = R[B][R[C] .. R[C]+R[C+1]); trap range") \
    X(BCMP, "bcmp", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 2, "R[A] = -1/0/1 comparing bytes R[B], R[C] (lexicographic); +bytes of both / 8") \
    X(BYTEAT, "byteat", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_REG, 1, "R[A] = byte R[C] of R[B] (0..255); trap range") \
    X(ITOB, "itob", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 2, "R[A] = 8-byte big-endian two's complement of R[B]; +1") \
    X(BTOI, "btoi", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 2, "R[A] = big-endian bytes R[B] (len 0..8) as int; 8 bytes are two's complement; trap range if longer") \
    X(TYPE, "type", CVM_FMT_ABC, CVM_K_REG, CVM_K_REG, CVM_K_NONE, 1, "R[A] = 0 if R[B] is an int, 1 if bytes") \
    X(ARG, "arg", CVM_FMT_ABC, CVM_K_REG, CVM_K_IMM, CVM_K_NONE, 1, "R[A] = call argument B; trap arg if B >= nargs") \
    X(NARGS, "nargs", CVM_FMT_ABC, CVM_K_REG, CVM_K_NONE, CVM_K_NONE, 1, "R[A] = number of call arguments") \
    X(HOST, "host", CVM_FMT_ABC, CVM_K_REG, CVM_K_HOST, CVM_K_REG, 10, "R[A] = host function B (R[C..C+arity-1]); + host gas")

enum cvm_opcode {
#define CVM_X_ENUM(e, n, f, ka, kb, kc, g, d) CVM_OP_##e,
    CVM_OPCODES(CVM_X_ENUM)
#undef CVM_X_ENUM
        CVM_OP_COUNT
};

/*
 * Host functions reachable through HOST. One line each:
 *   X(ENUM, name, arity, base gas, gas per byte touched (key, value, data, result))
 * get(key)               -> bytes value, or int 0 if absent (reads the tx's own writes first)
 * put(key, value)        -> int 0; buffered in the vm, applied by the embedder on success
 * del(key)               -> int 0; buffered like put
 * keys(prefix, after, n) -> bytes: up to min(n, CVM_ITER_KEYS_MAX) keys > after that start
 *                           with prefix, in order, each as u16 big-endian length + key;
 *                           + CVM_GAS_PER_KEY per key visited
 * caller() / role()      -> the signer's 32-byte key / role code
 * cosigners()            -> count; cosigner_key(i), cosigner_role(i), cosigner_meaning(i)
 * height() / time()      -> block height / block time in ms (UTC)
 * txid()                 -> 32-byte tx id
 * sha256(data)           -> 32-byte digest (computed by the host)
 * emit(topic, data)      -> int 0; buffered event, handed over on success only
 */
#define CVM_HOST_FUNCS(X)                                                                     \
    X(GET, "get", 1, 20, 1)                                                                   \
    X(PUT, "put", 2, 40, 1)                                                                   \
    X(DEL, "del", 1, 40, 1)                                                                   \
    X(KEYS, "keys", 3, 20, 1)                                                                 \
    X(CALLER, "caller", 0, 2, 0)                                                              \
    X(ROLE, "role", 0, 2, 0)                                                                  \
    X(COSIGNERS, "cosigners", 0, 2, 0)                                                        \
    X(COSIGNER_KEY, "cosigner_key", 1, 2, 0)                                                  \
    X(COSIGNER_ROLE, "cosigner_role", 1, 2, 0)                                                \
    X(COSIGNER_MEANING, "cosigner_meaning", 1, 2, 0)                                          \
    X(HEIGHT, "height", 0, 2, 0)                                                              \
    X(TIME, "time", 0, 2, 0)                                                                  \
    X(TXID, "txid", 0, 2, 0)                                                                  \
    X(SHA256, "sha256", 1, 60, 1)                                                             \
    X(EMIT, "emit", 2, 30, 1)

enum cvm_host_fn {
#define CVM_X_ENUM(e, n, ar, g, gb) CVM_HOST_##e,
    CVM_HOST_FUNCS(CVM_X_ENUM)
#undef CVM_X_ENUM
        CVM_HOST_COUNT
};

/* Static properties of one opcode / host function, generated from the tables above. */
typedef struct cvm_opinfo {
    const char *name;
    uint8_t format;   /* enum cvm_format */
    uint8_t kind[3];  /* enum cvm_operand_kind for A, B, C */
    uint16_t gas;     /* base cost */
    const char *effect;
} cvm_opinfo;
typedef struct cvm_hostinfo {
    const char *name;
    uint8_t arity;
    uint16_t gas;
    uint16_t gas_per_byte;
} cvm_hostinfo;
extern const cvm_opinfo cvm_opinfo_table[CVM_OP_COUNT];
extern const cvm_hostinfo cvm_hostinfo_table[CVM_HOST_COUNT];

/* ---- limits (everything has one) ------------------------------------------------------ */
#define CVM_MODULE_BYTES_MAX (1u << 20)  /* whole module */
#define CVM_KINT_MAX 65536u              /* int constants */
#define CVM_KBYT_MAX 65536u              /* byte-string constants */
#define CVM_KBYT_LEN_MAX 65535u          /* one byte-string constant */
#define CVM_FUNC_MAX 256u                /* functions per module */
#define CVM_FUNC_CODE_MAX 32768u         /* instructions per function */
#define CVM_NAME_LEN_MAX 64u             /* function name */
#define CVM_REGS_MAX 250u                /* registers per function */
#define CVM_ARGS_MAX 16u                 /* arguments of one call from the embedder */
#define CVM_KEY_LEN_MAX 256u             /* state key */
#define CVM_ITER_KEYS_MAX 64u            /* keys returned by one keys() */

/* ---- gas schedule 1 (the only one; a chain's genesis names it) -------------------------
 * Gas bounds time: every opcode and host call pays for the bytes, registers and buffer
 * entries it touches, so that no instruction costs much more time per gas than the
 * integer loop (`trialctl bench vm --worst` measures it; docs/VM.md has the table and the
 * figures). On top of the base costs of CVM_OPCODES and CVM_HOST_FUNCS:
 *   EQ, NE       both operands bytes: + CVM_GAS_EQ_BYTES + (len B + len C) / unit
 *   BCMP         + (len B + len C) / unit
 *   CONCAT       + result length / unit          (unit = CVM_GAS_BYTES_PER_UNIT)
 *   ITOB         + 8 / CVM_GAS_BYTES_PER_UNIT (= 1)
 *   CALL         + callee nregs / CVM_GAS_REGS_PER_UNIT (its registers are set up)
 *   HOST         + the function's base gas + its gas per byte x bytes of its byte-string
 *                arguments (get: key; put: key + value; del: key; keys: prefix + after;
 *                sha256: data; emit: topic + data), and:
 *     get        + gas per byte x the value's length (read from state or the buffer)
 *     get, keys: + CVM_GAS_STATE_READ per call of the host's state_get / state_next (a
 *                get the write buffer answers makes none; keys makes one per key visited)
 *     keys       + (CVM_GAS_PER_KEY + key length) per key visited or returned
 *     get, put, del, keys: the write-buffer scans, per entry scanned:
 *                  find (get, put, del; keys, for each committed key it visits):
 *                    CVM_GAS_SCAN_ENTRY, + key length / CVM_GAS_BYTES_PER_UNIT when the
 *                    entry's key has the searched key's length (its bytes are compared)
 *                  merge (keys, per key returned): CVM_GAS_SCAN_ENTRY +
 *                    (prefix length + 2 x entry key length) / CVM_GAS_BYTES_PER_UNIT
 * Divisions round down. Charges depend only on the module, the arguments and the state:
 * never on the machine or the dispatch build. */
#define CVM_GAS_SCHEDULE 1u
#define CVM_GAS_BYTES_PER_UNIT 8u        /* byte-touching opcodes: +1 gas per 8 bytes */
#define CVM_GAS_EQ_BYTES 1u              /* EQ / NE of two byte strings: +1 */
#define CVM_GAS_REGS_PER_UNIT 4u         /* CALL: +1 gas per 4 callee registers */
#define CVM_GAS_PER_KEY 10u              /* keys(): per key visited */
#define CVM_GAS_SCAN_ENTRY 1u            /* write-buffer scan: per entry scanned */
#define CVM_GAS_STATE_READ 1000u         /* one state_get / state_next: a storage read */

/* ---- module format (all integers little-endian) ----------------------------------------
 *
 *  offset  size  field
 *  0       4     magic "CVM\x1a"
 *  4       2     version = 1
 *  6       2     flags = 0 (any other value is refused)
 *  8       4     n_kint      (<= CVM_KINT_MAX)
 *  12      4     n_kbyt      (<= CVM_KBYT_MAX)
 *  16      4     n_func      (1 ..= CVM_FUNC_MAX)
 *  20      8*n_kint          int constants, i64 each
 *  ...           n_kbyt x { u32 len (<= CVM_KBYT_LEN_MAX); len bytes }
 *  ...           n_func x { u8 nparams; u8 nregs; u8 flags (bit0 = exported, others 0);
 *                           u8 name_len (1..=64); u32 n_code (1..=CVM_FUNC_CODE_MAX);
 *                           name_len bytes name [A-Za-z_][A-Za-z0-9_]*; n_code x u32 instruction }
 *  end           no trailing bytes; whole module <= CVM_MODULE_BYTES_MAX
 */
#define CVM_MAGIC "CVM\x1a"
#define CVM_VERSION 1u
#define CVM_HEADER_SIZE 20u
#define CVM_FUNC_EXPORTED 0x01u

/* ---- errors: one enum, 0 is success --------------------------------------------------- */
#define CVM_ERRORS(X)                                                                         \
    X(OK, "ok")                                                                               \
    X(ERR_INVALID_ARGUMENT, "invalid argument to a cvm function")                            \
    X(ERR_NOMEM, "out of memory")                                                             \
    /* loader */                                                                              \
    X(ERR_TRUNCATED, "module truncated")                                                      \
    X(ERR_BAD_MAGIC, "bad magic")                                                             \
    X(ERR_BAD_VERSION, "unsupported module version")                                          \
    X(ERR_BAD_FLAGS, "nonzero reserved flags")                                                \
    X(ERR_MODULE_TOO_LARGE, "module too large")                                               \
    X(ERR_TOO_MANY_KINT, "too many int constants")                                            \
    X(ERR_TOO_MANY_KBYT, "too many byte-string constants")                                    \
    X(ERR_KBYT_TOO_LONG, "byte-string constant too long")                                     \
    X(ERR_BAD_FUNC_COUNT, "function count 0 or too large")                                    \
    X(ERR_BAD_NAME, "bad function name")                                                      \
    X(ERR_DUP_NAME, "duplicate function name")                                                \
    X(ERR_BAD_CODE_LEN, "function code length 0 or too large")                                \
    X(ERR_BAD_NREGS, "nregs is 0, above the limit, or below nparams")                         \
    X(ERR_TRAILING_BYTES, "trailing bytes after the last function")                           \
    /* verifier */                                                                            \
    X(ERR_BAD_OPCODE, "unknown opcode")                                                       \
    X(ERR_BAD_REGISTER, "register index out of range")                                        \
    X(ERR_BAD_KINT, "int constant index out of range")                                        \
    X(ERR_BAD_KBYT, "byte-string constant index out of range")                                \
    X(ERR_BAD_JUMP, "jump target outside the function")                                       \
    X(ERR_BAD_FUNC, "call target is not a function")                                          \
    X(ERR_BAD_CALL_ARGS, "call argument count differs from the callee's nparams")             \
    X(ERR_BAD_HOST_FN, "unknown host function")                                               \
    X(ERR_BAD_OPERAND, "unused operand field is not zero")                                    \
    X(ERR_BAD_FUNC_END, "function does not end with ret, abort or jmp")                       \
    /* calling */                                                                             \
    X(ERR_NO_SUCH_METHOD, "no exported method of that name")                                  \
    X(ERR_BAD_ARGS, "argument count differs from the method's nparams or too many")           \
    /* runtime */                                                                             \
    X(ERR_OUT_OF_GAS, "out of gas")                                                           \
    X(ERR_CALL_DEPTH, "call depth limit reached")                                             \
    X(ERR_STACK_OVERFLOW, "register stack exhausted")                                         \
    X(ERR_ARENA_FULL, "memory arena exhausted")                                               \
    X(ERR_WRITES_FULL, "write buffer full")                                                   \
    X(ERR_EVENTS_FULL, "event buffer full")                                                   \
    X(ERR_TRAP_OVERFLOW, "trap: integer overflow")                                            \
    X(ERR_TRAP_DIV_ZERO, "trap: division by zero")                                            \
    X(ERR_TRAP_TYPE, "trap: wrong value type")                                                \
    X(ERR_TRAP_RANGE, "trap: index, length or shift out of range")                            \
    X(ERR_TRAP_ARG, "trap: argument index out of range")                                      \
    X(ERR_TRAP_KEY, "trap: state key empty or too long")                                      \
    X(ERR_HOST_FAILED, "host callback failed")                                                \
    X(ABORTED, "contract aborted with a reason code")                                         \
    /* assembler */                                                                           \
    X(ERR_ASM_SYNTAX, "assembler: syntax error")                                              \
    X(ERR_ASM_UNKNOWN, "assembler: unknown opcode, directive or name")                        \
    X(ERR_ASM_RANGE, "assembler: operand out of range")                                       \
    X(ERR_ASM_DUPLICATE, "assembler: duplicate name")                                         \
    X(ERR_ASM_LIMIT, "assembler: size limit exceeded")

typedef enum cvm_status {
#define CVM_X_ENUM(e, s) CVM_##e,
    CVM_ERRORS(CVM_X_ENUM)
#undef CVM_X_ENUM
        CVM_STATUS_COUNT
} cvm_status;

/* Returns a static string for a status; "unknown status" for an out-of-range value. */
const char *cvm_strerror(cvm_status status);

/* Where an error happened. func/pc are UINT32_MAX when not applicable; line is the
 * assembler source line (1-based) or 0. */
typedef struct cvm_error {
    cvm_status code;
    uint32_t func;
    uint32_t pc;
    uint32_t line;
    char message[192];
} cvm_error;

/* ---- values --------------------------------------------------------------------------- */
enum cvm_type { CVM_INT = 0, CVM_BYTES = 1 };
typedef struct cvm_value {
    union {
        int64_t i;
        const uint8_t *bytes;
    } u;
    uint32_t len;  /* bytes only */
    uint32_t type; /* enum cvm_type */
} cvm_value;

static inline cvm_value cvm_int(int64_t i) {
    cvm_value v;
    v.u.i = i;
    v.len = 0;
    v.type = CVM_INT;
    return v;
}
static inline cvm_value cvm_bytes(const void *p, uint32_t len) {
    cvm_value v;
    v.u.bytes = (const uint8_t *)p;
    v.len = len;
    v.type = CVM_BYTES;
    return v;
}

/* ---- module --------------------------------------------------------------------------- */
typedef struct cvm_module cvm_module;

/* Parses and verifies a module. On success *out owns a private copy of the bytes.
 * On failure returns the status, fills *err (may be NULL) and *out stays NULL. */
cvm_status cvm_module_load(const uint8_t *bytes, size_t len, cvm_module **out, cvm_error *err);
void cvm_module_free(cvm_module *module);

/* Read-only introspection (used by the disassembler and tools). */
uint32_t cvm_module_func_count(const cvm_module *module);
typedef struct cvm_funcinfo {
    const char *name; /* owned by the module */
    uint32_t nparams;
    uint32_t nregs;
    uint32_t code_len;
    int exported;
} cvm_funcinfo;
/* Describes function index (< cvm_module_func_count); CVM_ERR_INVALID_ARGUMENT if out of
 * range. */
cvm_status cvm_module_func_info(const cvm_module *module, uint32_t index, cvm_funcinfo *out);
/* Index of the EXPORTED function called name, or -1. */
int cvm_module_find_export(const cvm_module *module, const char *name);

/* ---- host ----------------------------------------------------------------------------- */
typedef struct cvm_cosigner {
    uint8_t key[32];
    int64_t role;
    int64_t meaning; /* e.g. author, approval, witness (codes defined by the embedder) */
} cvm_cosigner;

/*
 * The embedder's callbacks. All return 0 on success, negative on failure (the call then
 * ends with CVM_ERR_HOST_FAILED and no writes). The VM buffers put/delete/emit itself, so
 * the host only reads committed state; the embedder applies cvm_result.writes on success.
 *
 * state_get: look key up. Set *found; if found and *value_len <= out_cap copy the value to
 *   out. Always set *value_len to the true length (the VM traps with ERR_ARENA_FULL when it
 *   does not fit).
 * state_next: the smallest committed key that starts with prefix and is strictly greater
 *   than after (after_len 0: no lower bound). Same out/out_cap/key_len contract; *found=0
 *   when there is none.
 * sha256: digest of data into out.
 */
typedef struct cvm_host {
    void *ctx;
    int (*state_get)(void *ctx, const uint8_t *key, size_t key_len, uint8_t *out,
                     size_t out_cap, size_t *value_len, int *found);
    int (*state_next)(void *ctx, const uint8_t *prefix, size_t prefix_len,
                      const uint8_t *after, size_t after_len, uint8_t *out, size_t out_cap,
                      size_t *key_len, int *found);
    int (*sha256)(void *ctx, const uint8_t *data, size_t len, uint8_t out[32]);
} cvm_host;

/* Per-call facts about the transaction and the block (plain data: it cannot fail). */
typedef struct cvm_env {
    uint8_t caller[32];
    int64_t caller_role;
    const cvm_cosigner *cosigners; /* borrowed for the duration of the call */
    uint32_t cosigner_count;
    int64_t block_height;
    int64_t block_time_ms;
    uint8_t tx_id[32];
} cvm_env;

/* ---- vm ------------------------------------------------------------------------------- */
typedef struct cvm_limits {
    uint32_t arena_bytes;   /* per-call byte-string arena */
    uint32_t stack_regs;    /* register stack (all frames) */
    uint32_t call_depth;    /* nested CALLs */
    uint32_t writes_max;    /* distinct keys written per call */
    uint32_t events_max;    /* events per call */
} cvm_limits;

/* Defaults: 256 KiB arena, 4096 registers, depth 64, 256 writes, 64 events. */
cvm_limits cvm_limits_default(void);

/* Hard maxima: cvm_vm_new refuses limits above them (a genesis's rules may not ask for
 * more: registry/base/codec.h checks vm_* against these). */
#define CVM_LIMIT_ARENA_BYTES_MAX (16u << 20) /* 16 MiB per call */
#define CVM_LIMIT_CALL_DEPTH_MAX 1024u
#define CVM_LIMIT_WRITES_MAX 4096u
#define CVM_LIMIT_EVENTS_MAX 1024u

typedef struct cvm_write {
    const uint8_t *key;
    const uint8_t *value; /* NULL for a delete */
    uint32_t key_len;
    uint32_t value_len;
    int is_delete;
} cvm_write;

typedef struct cvm_event {
    const uint8_t *topic;
    const uint8_t *data;
    uint32_t topic_len;
    uint32_t data_len;
} cvm_event;

typedef struct cvm_result {
    cvm_status status;    /* CVM_OK, CVM_ABORTED, or an error */
    cvm_value value;      /* returned value (status OK) */
    int64_t abort_code;   /* status ABORTED */
    uint64_t gas_used;    /* also on failure: gas consumed up to the trap (= limit if OOG) */
    const cvm_write *writes; /* in first-write order, one per key; only when status OK */
    uint32_t write_count;
    const cvm_event *events; /* in emit order; only when status OK */
    uint32_t event_count;
    cvm_error error;      /* where a trap happened (func, pc) */
} cvm_result;

typedef struct cvm_vm cvm_vm;

/* Allocates a vm with all its memory. limits NULL: defaults. Returns NULL on ENOMEM, a
 * zero limit or a limit above its CVM_LIMIT_*_MAX. */
cvm_vm *cvm_vm_new(const cvm_limits *limits);
void cvm_vm_free(cvm_vm *vm);

/*
 * Runs exported method `method` of `module` with args (count must equal its nparams) and a
 * gas limit. Fills *result; returns result->status. Writes and events are handed over only
 * when the status is CVM_OK; on an abort or any error the write and event lists are empty.
 * The module must stay alive while result pointers are used.
 */
cvm_status cvm_call(cvm_vm *vm, const cvm_module *module, const char *method,
                    const cvm_value *args, uint32_t nargs, const cvm_host *host,
                    const cvm_env *env, uint64_t gas_limit, cvm_result *result);

/* ---- assembler / disassembler --------------------------------------------------------- */

/* Assembles source text (see docs/VM.md "Assembly"). On success *out is a malloc'd module
 * (caller frees) and *out_len its size; the module is also verified. On failure *out is NULL
 * and err names the line. */
cvm_status cvm_assemble(const char *source, size_t source_len, uint8_t **out, size_t *out_len,
                        cvm_error *err);

/* Disassembles module bytes (verified first) to a malloc'd NUL-terminated text that
 * cvm_assemble turns back into the same bytes. */
cvm_status cvm_disassemble(const uint8_t *bytes, size_t len, char **out_text, cvm_error *err);

#endif /* CVM_H */
