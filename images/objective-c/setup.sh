#!/bin/sh
# GNU libobjc (GCC 14) dereferences a null selector when a message is not understood and
# no loaded code ever named the selectors forward:: or doesNotRecognize: (Foundation
# names them; plain programs do not): such a program dies with SIGSEGV instead of the
# runtime's "(instance) X does not recognize y" message and abort. This object file names
# both; the catalog's compile step links it into every program.
set -e
mkdir -p /usr/local/lib/warmrun
cat >/tmp/objc-selectors.m <<'SRC'
#import <objc/objc.h>
/* Referenced nowhere: naming the selectors registers them when the program loads. */
SEL warmrun_objc_forwarding_selectors[] = {@selector(forward::), @selector(doesNotRecognize:)};
SRC
gcc -O2 -c -o /usr/local/lib/warmrun/objc-selectors.o /tmp/objc-selectors.m
rm -f /tmp/objc-selectors.m
