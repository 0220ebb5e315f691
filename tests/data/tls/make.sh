#!/bin/sh
# Regenerates the test PKI: a CA, a server certificate for localhost /
# 127.0.0.1 / imap.abcd.test (the default), one for imap.defg.test (picked by
# SNI), and an unrelated CA that must fail verification. Valid 100 years so
# the committed files never expire under the tests.
set -eu
cd "$(dirname "$0")"
days=36500

make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
        -days "$days" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
}

make_server() {
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days "$days" -extfile "$1.ext" -out "$1.pem"
    rm -f "$1.csr" "$1.ext"
}

make_ca ca "imapfront test CA"
make_ca other-ca "imapfront unrelated CA"
make_server abcd imap.abcd.test "DNS:localhost,IP:127.0.0.1,DNS:imap.abcd.test"
make_server defg imap.defg.test "DNS:imap.defg.test"
rm -f ca.srl ca.key other-ca.key
