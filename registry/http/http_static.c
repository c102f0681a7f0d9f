/*
 * http_static.c - the page bundle under /app/ (docs/WEB.md): the files of web/, embedded at
 * build time (http_static.h), each with its content type and the same security headers.
 *
 *   GET /app              301 to /app/
 *   GET /app/             index.html
 *   GET /app/PATH         the file web/PATH (exact match against the embedded table: no
 *                         file system is read, so no path can escape it)
 *   GET /app/SHA256SUMS   the bundle's canonical listing; its SHA-256 is the bundle hash
 * HEAD is answered like GET (libmicrohttpd leaves the body out); other methods 405.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "http_static.h"

/* The pages' policy (docs/WEB.md, the trust model): scripts, styles, images and requests
 * only from this origin; no inline script or style, no plugins, no framing, no <base>. */
#define HTTP_STATIC_CSP                                                                      \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "             \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "         \
    "frame-ancestors 'none'"

const char *http_bundle_sha256(void) { return HTTP_STATIC_BUNDLE_SHA256; }

static int by_path(const void *key, const void *element)
{
    return strcmp((const char *)key, ((const http_static_file *)element)->path);
}

static enum MHD_Result send_static(http_api *h, struct MHD_Connection *c, unsigned status,
                                   const char *type, const void *data, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Content-Security-Policy", HTTP_STATIC_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    /* Revalidate every time: a node upgraded to another bundle serves it at once. */
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    if (status == 301) MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/app/");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    http_count(h, status);
    return ok;
}

bool http_route_static(http_api *h, struct MHD_Connection *c, const char *method,
                       const char *url, enum MHD_Result *sent)
{
    if (strncmp(url, "/app", 4) != 0 || (url[4] != '\0' && url[4] != '/')) return false;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *sent = http_error(h, c, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method, url);
        return true;
    }
    if (url[4] == '\0') {
        static const char moved[] = "see /app/\n";
        *sent = send_static(h, c, 301, "text/plain; charset=utf-8", moved, sizeof moved - 1);
        return true;
    }
    const char *path = url[5] == '\0' ? "index.html" : url + 5;
    if (strcmp(path, "SHA256SUMS") == 0) {
        *sent = send_static(h, c, 200, "text/plain; charset=utf-8", HTTP_STATIC_LISTING,
                            strlen(HTTP_STATIC_LISTING));
        return true;
    }
    const http_static_file *f = bsearch(path, HTTP_STATIC_FILES, HTTP_STATIC_FILE_COUNT,
                                        sizeof *HTTP_STATIC_FILES, by_path);
    *sent = f ? send_static(h, c, 200, f->type, f->data, f->len)
              : http_error(h, c, 404, "NOT_FOUND", "no page %s (the bundle's files: /app/SHA256SUMS)", url);
    return true;
}
