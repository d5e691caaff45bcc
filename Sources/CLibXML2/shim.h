// Debian's libxml2 is built with ICU, so <libxml/encoding.h> would include ICU's <unicode/ucnv.h>, whose
// UErrorCode clashes with the ICU that swift-corelibs-foundation ships. We never touch the encoding handler
// struct (the only one whose fields depend on this macro; it is reached through pointers only), so the ICU
// part of the header is left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
