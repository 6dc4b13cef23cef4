#!/bin/sh
# Runs inside the freshly debootstrapped base root filesystem (chroot), once.
# Part of the base image's content hash: edit it and the base (and thus every
# language image) gets a new tag.
set -eu

# Like Debian's *-slim images: no docs, man pages, info pages or translations
# for anything installed from now on (copyright files are kept).
cat >/etc/dpkg/dpkg.cfg.d/01-warmrun-slim <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
find /usr/share/doc -depth -mindepth 1 ! -name copyright ! -type d -delete
find /usr/share/doc -depth -mindepth 1 -type d -empty -delete
rm -rf /usr/share/groff/* /usr/share/info/* /usr/share/lintian/* /usr/share/linda/* \
       /usr/share/locale/*
# Keep the man directories: update-alternatives (e.g. openjdk's postinst) fails
# when the directory of a man page slave link is missing.
find /usr/share/man -depth -mindepth 1 ! -type d -delete
mkdir -p /usr/share/man/man1 /usr/share/man/man2 /usr/share/man/man3 /usr/share/man/man4 \
         /usr/share/man/man5 /usr/share/man/man6 /usr/share/man/man7 /usr/share/man/man8

cat >/etc/apt/apt.conf.d/01-warmrun <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CFG

# Never start services from package scripts.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# Where the engine mounts the user's tmpfs.
mkdir -p /workspace
chmod 0755 /workspace

# Docker bind-mounts these at run time; leave empty placeholders.
: >/etc/resolv.conf
: >/etc/machine-id
echo localhost >/etc/hostname

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
       /var/lib/dpkg/*-old /var/log/apt/* /var/log/*.log /tmp/* /var/tmp/* /root/.bash_history
mkdir -p /var/lib/apt/lists/partial
