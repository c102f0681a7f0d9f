/*
 * codec_reader.h - INTERNAL to the codec module (codec.c, wire.c): the strict
 * zero-copy msgpack reader and the few writer primitives the other encoders
 * of the module need. Nothing outside registry/base/codec.c and registry/consensus/wire.c
 * includes this; everyone else uses the decoders in codec.h and wire.h.
 *
 * Reader rules (codec.c has the why): every codec_rd_* call checks the type,
 * the shortest form and the bounds at the byte where the value starts; on
 * refusal it records code, offset, field and r->index in *r->err and returns
 * false, leaving r->p wherever it stopped. Counts are checked against the
 * bytes left before anyone loops over them. Nothing allocates; spans point
 * into the input.
 */
#ifndef TRIALREG_CODEC_READER_H
#define TRIALREG_CODEC_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef struct {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    codec_error *err;
    int64_t index;       /* innermost array index for "[]" fields, -1 outside arrays */
    codec_error own_err; /* used when the caller passes no error struct */
} codec_reader;

/* Start reading data[0..len); err may be NULL. */
void codec_rd_init(codec_reader *r, const uint8_t *data, size_t len, codec_error *err);
/* ok and at the end: CODEC_OK; ok with bytes left: CODEC_ERR_TRAILING (field
 * "end"); not ok: the recorded error's code. */
codec_err codec_rd_finish(codec_reader *r, bool ok);
/* Record a refusal at `at` (or at r->p); always returns false. */
bool codec_rd_fail_at(codec_reader *r, const uint8_t *at, codec_err code, const char *field);
bool codec_rd_fail(codec_reader *r, codec_err code, const char *field);
size_t codec_rd_remaining(const codec_reader *r);

/* An array header with min <= count <= max (and count <= bytes left). */
bool codec_rd_array(codec_reader *r, const char *field, uint32_t min, uint32_t max,
                    uint32_t *count);
/* A non-negative integer in its shortest uint form, <= max. */
bool codec_rd_uint(codec_reader *r, const char *field, uint64_t max, uint64_t *out);
bool codec_rd_u32(codec_reader *r, const char *field, uint32_t max, uint32_t *out);
bool codec_rd_u32_in(codec_reader *r, const char *field, uint32_t min, uint32_t max,
                     uint32_t *out);
/* A bin of min..max bytes; *out points into the input. */
bool codec_rd_bin(codec_reader *r, const char *field, uint32_t min, uint32_t max,
                  const uint8_t **out, uint32_t *len);
bool codec_rd_span(codec_reader *r, const char *field, uint32_t min, uint32_t max,
                   codec_span *out);
/* A bin of 1..max bytes or nil (nil gives {NULL, 0}). */
bool codec_rd_span_or_nil(codec_reader *r, const char *field, uint32_t max, codec_span *out);
/* A bin of exactly n bytes, copied to out. */
bool codec_rd_fixed(codec_reader *r, const char *field, void *out, uint32_t n);
bool codec_rd_hash(codec_reader *r, const char *field, hash32 *out);
/* Consume a nil if one is next; true if it did. */
bool codec_rd_nil(codec_reader *r);

/* Whole structures, with the field names codec_*_decode reports. */
bool codec_rd_batch_header(codec_reader *r, codec_batch_header *h);
/* min_sigs is 1 for every stored certificate; 0 lets a genesis-style empty
 * certificate through (the caller decides when that is allowed). */
bool codec_rd_result_cert(codec_reader *r, codec_result_cert *c, uint32_t min_sigs);

/* Writer primitives: append one canonical value to out (shortest ints, bin
 * for bytes); a write that does not fit sets out->overflow. */
void codec_wr_array(codec_buf *out, uint32_t count);
void codec_wr_uint(codec_buf *out, uint64_t v);
void codec_wr_bin(codec_buf *out, const void *p, size_t n);
void codec_wr_nil(codec_buf *out);

#endif
