#ifndef MAILBRIDGE_CETPAN_X509_SHIM_H
#define MAILBRIDGE_CETPAN_X509_SHIM_H
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#endif
