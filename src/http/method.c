/*
 * Small lookups around the HTTP message model: method tokens to the enum,
 * status codes to reason phrases (RFC 9110 section 15 and the registry
 * entries we answer with), and header lookup by name.
 */
#include "http/parse.h"

#include <string.h>
#include <strings.h>

hs_http_method_t hs_http_method_from(const char *s, size_t len)
{
    /* Methods are case-sensitive (RFC 9110 9.1). */
#define M(lit, m)                                                                                  \
    if (memcmp(s, lit, sizeof(lit) - 1) == 0)                                                      \
        return m;
    switch (len) {
    case 3:
        M("GET", HS_HTTP_GET)
        M("PUT", HS_HTTP_PUT)
        break;
    case 4:
        M("HEAD", HS_HTTP_HEAD)
        M("POST", HS_HTTP_POST)
        break;
    case 5:
        M("PATCH", HS_HTTP_PATCH)
        M("TRACE", HS_HTTP_TRACE)
        break;
    case 6:
        M("DELETE", HS_HTTP_DELETE)
        break;
    case 7:
        M("OPTIONS", HS_HTTP_OPTIONS)
        M("CONNECT", HS_HTTP_CONNECT)
        break;
    default:
        break;
    }
#undef M
    return HS_HTTP_OTHER;
}

const char *hs_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 306: return "Unused";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "Unused";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: break;
    }
    /* Unregistered codes: a phrase for the class, never NULL. */
    switch (status / 100) {
    case 1: return "Informational";
    case 2: return "Success";
    case 3: return "Redirection";
    case 4: return "Client Error";
    case 5: return "Server Error";
    default: return "Unknown";
    }
}

int hs_http_find_header(const hs_http_msg_t *msg, const char *name, size_t name_len, int from)
{
    if (from < 0)
        from = 0;
    for (unsigned i = (unsigned)from; i < msg->num_headers; i++) {
        const hs_http_header_t *h = &msg->headers[i];
        if (h->name.len == name_len && strncasecmp(h->name.base, name, name_len) == 0)
            return (int)i;
    }
    return -1;
}
