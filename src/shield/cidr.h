/*
 * Client addresses and CIDR lists for the shield. Every address is held as
 * 16 bytes: IPv6 as is, IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
 * so one list and one table serve both families and a v4-mapped peer of a
 * dual-stack socket is the same client as its plain IPv4 self.
 */
#ifndef HS_SHIELD_CIDR_H
#define HS_SHIELD_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Most entries one list may hold: lists are scanned linearly. */
#define HS_CIDR_MAX 1024

typedef struct hs_cidr {
    uint8_t addr[16]; /* mapped form, bits past `bits` are zero */
    uint8_t bits;     /* prefix length over the 128-bit mapped form */
} hs_cidr_t;

typedef struct hs_cidr_list {
    hs_cidr_t *v; /* malloc'd, NULL when empty */
    unsigned n;
} hs_cidr_list_t;

/*
 * Parses a list such as "10.0.0.0/8, 2001:db8::/32 192.0.2.7" (entries
 * separated by commas and/or white space; an entry without "/len" is one
 * address). Pure over text[0..len) (no NUL needed). An entry whose address
 * has bits set past its prefix ("10.0.0.1/8") is an error, not silently
 * widened. On success returns 0 and fills *out (free with
 * hs_cidr_list_free); on failure returns HS_EINVAL (or HS_ENOMEM), leaves
 * *out empty and writes "bad entry '...': why" into err (if errlen > 0).
 */
int hs_cidr_parse_list(const char *text, size_t len, hs_cidr_list_t *out, char *err,
                       size_t errlen);

void hs_cidr_list_free(hs_cidr_list_t *l);

/* True when the 16-byte mapped address falls in any entry of l. */
bool hs_cidr_list_match(const hs_cidr_list_t *l, const uint8_t addr[16]);

/* True when addr (mapped form) falls in c. */
bool hs_cidr_match(const hs_cidr_t *c, const uint8_t addr[16]);

/* Fills addr with the mapped form of an AF_INET or AF_INET6 socket address.
 * Returns false for any other family (AF_UNSPEC, AF_UNIX). */
bool hs_cidr_from_sockaddr(const struct sockaddr_storage *ss, uint8_t addr[16]);

/* True for an IPv4-mapped address (::ffff:0:0/96). */
bool hs_cidr_is_v4(const uint8_t addr[16]);

/* Zeroes the bits of addr past the first `bits` (0..128). */
void hs_cidr_mask(uint8_t addr[16], unsigned bits);

/* Writes the address in text ("192.0.2.7", "2001:db8::") into buf
 * (at least 46 bytes). Returns buf. */
const char *hs_cidr_addr_str(const uint8_t addr[16], char *buf, size_t len);

#endif
