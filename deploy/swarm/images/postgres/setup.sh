#!/bin/sh
# Runs in the image's chroot after apt-get install. The package's postinst made a
# cluster "main" that the stack never uses (its data lives on a volume): drop it.
set -eu
rm -rf /var/lib/postgresql/15/main /etc/postgresql/15/main
