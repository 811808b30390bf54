/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The private PKI of the OCSP tests (tests/ocsp/make_pki.sh, openssl CLI),
 * made in a fresh temporary directory, and `openssl ocsp` as a responder:
 * offline (-reqin/-respout) or over TCP on 127.0.0.1 (started and stopped here).
 */
#ifndef DGA_TEST_OCSP_PKI_H
#define DGA_TEST_OCSP_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/x509.h>

struct pki {
    char dir[256];
    X509 *root, *inter, *leaf, *revoked, *held, *unknown;
    STACK_OF(X509) *above_leaf; /* inter: the untrusted certificates above a leaf */
};

/* Makes the PKI (fails the test if it cannot). */
void pki_make(struct pki *p);
/* Frees the certificates and removes the directory. */
void pki_free(struct pki *p);
/* Loads <dir>/<name>.pem. */
X509 *pki_cert(const struct pki *p, const char *name);

/*
 * `openssl ocsp -index index.txt -CA inter.pem -rsigner <signer>.pem
 * -rkey <signer>.key -reqin REQ -respout RESP <args>`: the response to req,
 * malloc'd. Fails the test if openssl fails.
 */
uint8_t *pki_respond(const struct pki *p, const uint8_t *req, size_t len, const char *signer,
                     const char *args, size_t *ret_len);

/* The same with any CA, index and signer of the PKI (e.g. "root", "root-index.txt", "rootocsp"). */
uint8_t *pki_respond_as(const struct pki *p, const uint8_t *req, size_t len, const char *ca,
                        const char *index, const char *signer, const char *args, size_t *ret_len);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int pki_free_port(void);
/* Starts `openssl ocsp -port port` (reached on 127.0.0.1) (signer "ocsp", args appended); waits
 * until it listens. */
pid_t pki_responder_start(const struct pki *p, int port, const char *args);
void pki_responder_stop(pid_t pid);

#endif
