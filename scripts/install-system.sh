#!/usr/bin/env bash
# Debian packages the project runs and tests with. Installs only what is missing (root, or sudo).
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || need+=(kamailio)
# SIP over TLS at the front door, and the media proxy that terminates SRTP
[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] || need+=(kamailio-tls-modules)
command -v rtpengine >/dev/null || need+=(rtpengine-daemon)
command -v openssl >/dev/null || need+=(openssl)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ss >/dev/null || need+=(iproute2)
# the metrics scrape config is tested by a real Prometheus scraping the stack
command -v prometheus >/dev/null || need+=(prometheus)
# the live-calls page is tested in a real browser: headless Chromium driven by selenium
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
# echo cancellation at the edge (speexdsp-aec loads it with ctypes)
ldconfig -p 2>/dev/null | grep -q "libspeexdsp.so.1 " || need+=(libspeexdsp1)
# the Speech SDK (tests drive the engine's Azure Speech container paths with it) loads OpenSSL 3 and ALSA
ldconfig -p 2>/dev/null | grep -q "libssl.so.3 " || need+=(libssl3)
ldconfig -p 2>/dev/null | grep -q "libasound.so.2 " || need+=(libasound2)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
