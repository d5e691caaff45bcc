// zlib (RFC 1950/1951 inflate) and libbzip2, for reading OpenPGP compressed data packets (RFC 9580 §5.6).
#include <zlib.h>
#include <bzlib.h>
