#ifndef MAILBRIDGE_CGPGME_SHIM_H
#define MAILBRIDGE_CGPGME_SHIM_H
// Large-file support must match the library's build (Debian builds gpgme with _FILE_OFFSET_BITS=64).
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif
#include <gpgme.h>
#endif
