/*
 * hello_client.c - a tiny C integrator of the installed client library (tests/install):
 * built with nothing but `pkg-config --cflags --libs --static trialreg-client`. It signs a
 * tx and prints its id, then asks an unreachable node for that tx's receipt and prints the
 * error. Exit 0 when both behave (the id is the SHA-256 of the signed tx; the fetch fails
 * with an error, not a crash or a hang).
 *
 *   hello_client URL
 */
#include <stdio.h>
#include <stdlib.h>

#include <trialreg_client.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hello_client URL\n");
        return 2;
    }
    if (tcrypto_init() != TCRYPTO_OK) return 1;
    printf("trialreg-client %s\n", trialreg_client_version());

    keypair key;
    tcrypto_keypair_generate(&key);
    hash32 chain;
    tcrypto_sha256("hello chain", 11, &chain);
    codec_value args[2] = {{.kind = CODEC_VALUE_BYTES, .bytes = (const uint8_t *)"T-1", .len = 3},
                           {.kind = CODEC_VALUE_INT, .integer = 42}};
    static uint8_t tx[CODEC_TX_MAX];
    size_t len = client_sign_tx(&key, client_random_nonce(),
                                client_now_ms() + CLIENT_VALID_FOR_DEFAULT_MS, &chain, "trial",
                                "register", args, 2, NULL, NULL, 0, tx, sizeof tx);
    if (len == 0) {
        fprintf(stderr, "hello_client: the tx does not encode\n");
        return 1;
    }
    codec_tx decoded;
    if (codec_tx_decode(tx, len, &decoded, NULL) != CODEC_OK) {
        fprintf(stderr, "hello_client: the signed tx does not decode\n");
        return 1;
    }
    hash32 id;
    tcrypto_sha256(tx, len, &id);
    char hex[2 * TCRYPTO_HASH_BYTES + 1];
    tcrypto_to_hex(id.bytes, sizeof id.bytes, hex);
    printf("signed tx %s (%zu bytes, %s.%s)\n", hex, len, decoded.contract.text,
           decoded.method.text);

    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char why[512];
    int rc = client_fetch_receipt(argv[1], &key, &chain, &id, 500, &reply, &reply_len, why,
                                  sizeof why);
    if (rc == 0) {
        free(reply);
        fprintf(stderr, "hello_client: %s answered; expected no node there\n", argv[1]);
        return 1;
    }
    printf("receipt from %s: error: %s\n", argv[1], why);
    return 0;
}
