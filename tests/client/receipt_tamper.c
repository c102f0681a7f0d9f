/*
 * receipt_tamper.c - TEST-ONLY: copy a receipt file (docs/FORMATS.md 13.5) with one byte
 * flipped inside one named part, so that the tests can show that verify-receipt catches a
 * change in each part and names it.
 *
 *   receipt_tamper IN PART OUT
 *   PART: tx (a byte of the author signature), header (a byte of the batch header's tx
 *   root), commit-sig (a byte of the last commit certificate signature), result-cert (a
 *   byte of the certified state hash), tx-path (the first hash of the tx's log path),
 *   receipt-path (the first hash of the receipt's path; the receipt must come from a block
 *   of two txs or more), receipt (a byte of the tx id the receipt names).
 * The flipped byte lies inside a bin payload, so the file still decodes canonically.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Offset of needle (len bytes) inside [from, from + span) of buf, or -1. */
static long find(const uint8_t *buf, const uint8_t *from, size_t span, const uint8_t *needle,
                 size_t len)
{
    for (size_t i = 0; i + len <= span; i++) {
        if (memcmp(from + i, needle, len) == 0) return (long)(from + i - buf);
    }
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) return fprintf(stderr, "usage: receipt_tamper IN PART OUT\n"), 2;
    static uint8_t buf[CODEC_CLIENT_MESSAGE_MAX];
    FILE *f = fopen(argv[1], "rb");
    if (!f) return perror(argv[1]), 3;
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    static codec_receipt_reply rr;
    static codec_proof p;
    static codec_block_header h;
    static codec_result_cert rc;
    if (codec_receipt_reply_decode(buf, len, &rr, NULL) != CODEC_OK
        || codec_proof_decode(rr.proof.data, rr.proof.len, &p, NULL) != CODEC_OK
        || codec_block_header_decode(p.block.header.data, p.block.header.len, &h, NULL) != CODEC_OK
        || codec_result_cert_decode(p.block.result_cert.data, p.block.result_cert.len, &rc, NULL)
               != CODEC_OK)
        return fprintf(stderr, "receipt_tamper: %s does not decode\n", argv[1]), 3;
    const char *part = argv[2];
    long at = -1;
    if (strcmp(part, "tx") == 0) at = (long)(p.tx.data + p.tx.len - 5 - buf);
    else if (strcmp(part, "header") == 0)
        at = find(buf, p.block.header.data, p.block.header.len, h.batch.tx_root.bytes, 32) + 7;
    else if (strcmp(part, "commit-sig") == 0)
        at = (long)(rr.commit_cert.data + rr.commit_cert.len - 9 - buf);
    else if (strcmp(part, "result-cert") == 0)
        at = find(buf, p.block.result_cert.data, p.block.result_cert.len, rc.state_hash.bytes, 32)
             + 3;
    else if (strcmp(part, "tx-path") == 0 && p.path_len > 0)
        at = find(buf, rr.proof.data, rr.proof.len, p.path[0].bytes, 32) + 11;
    else if (strcmp(part, "receipt-path") == 0 && rr.receipt_path_len > 0)
        at = find(buf, buf, len, rr.receipt_path[0].bytes, 32) + 11;
    else if (strcmp(part, "receipt") == 0) at = (long)(rr.receipt.data + 5 - buf);
    if (at < 0 || (size_t)at >= len)
        return fprintf(stderr, "receipt_tamper: no part %s\n", part), 2;
    buf[at] ^= 0x20;
    f = fopen(argv[3], "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) return perror(argv[3]), 4;
    return 0;
}
