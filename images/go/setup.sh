#!/bin/sh
# Runs in the go image's chroot after apt-get install (part of the image's content hash).
# Go 1.20 and later ship no compiled standard library: a build compiles every standard
# package it imports into GOCACHE (fmt alone: ~10 s of CPU), and the engine empties /tmp,
# where GOCACHE lives, after every run. Installing the standard library into GOROOT once
# makes a hello world build take ~0.4 s of CPU; the catalog sets GODEBUG=installgoroot=all
# so that builds use these archives.
set -eu
GODEBUG=installgoroot=all GOCACHE=/tmp/warmrun-gocache go install std
rm -rf /tmp/warmrun-gocache

# Go 1.23+ keeps local telemetry in $XDG_CONFIG_HOME/go (else ~/.config/go, i.e. /tmp,
# where it would show up in the next step of the same run). The catalog points
# XDG_CONFIG_HOME here, read-only, with telemetry off.
mkdir -p /usr/local/share/warmrun/go-config
XDG_CONFIG_HOME=/usr/local/share/warmrun/go-config go telemetry off
chmod -R a+rX,go-w /usr/local/share/warmrun/go-config
