/*
 * request.h: reads the WASIO request (one JSON object on stdin) for the C
 * instruments. Only the fields they use are kept: the query/form parameters,
 * the seed and the HTTP method.
 */
#ifndef WASIO_REQUEST_H
#define WASIO_REQUEST_H

#include <stdint.h>

struct request {
    int nparams;
    char **keys;      /* decoded UTF-8, NUL-terminated */
    char **values;
    int64_t seed;     /* exact: never passes through a double */
    char *method;     /* "" when the host did not send one */
};

/* Reads and parses stdin. An empty stdin is a request without parameters.
 * Returns 0, or -1 (with a message on stderr) when stdin is not a JSON object. */
int request_read(struct request *req);

/* The value of a parameter, or NULL when the request does not have it. */
const char *request_param(const struct request *req, const char *key);

#endif
