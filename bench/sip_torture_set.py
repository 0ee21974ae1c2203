"""The messages bench/sip_torture.py sends: RFC 4475-style torture tests, well-formed bases, mutations.

`{port}` stands for the target's port. Each torture message is named after the RFC 4475 test it
follows (section 3.1.1: valid but unusual; 3.1.2: invalid), or after what it reproduces.
"""

from __future__ import annotations

import random

HOST = "127.0.0.1"
SDP = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


def _msg(start: str, headers: list[str], body: str = "", length: int | None = None) -> bytes:
    cl = len(body.encode()) if length is None else length
    return (start + "\r\n" + "".join(h + "\r\n" for h in headers) + f"Content-Length: {cl}\r\n\r\n" + body).encode()


def _common(method: str, branch: str, *, to_tag: str = "", cseq: int = 1) -> list[str]:
    return [f"Via: SIP/2.0/UDP {HOST}:5999;branch=z9hG4bK{branch};rport", "Max-Forwards: 70",
            f"From: <sip:+15550100@{HOST}>;tag=t{branch}", f"To: <sip:bot@{HOST}>" + (f";tag={to_tag}" if to_tag else ""),
            f"Call-ID: torture-{branch}@{HOST}", f"CSeq: {cseq} {method}", f"Contact: <sip:+15550100@{HOST}:5999>"]  # fmt: skip


def _invite(branch: str, extra: list[str] | None = None, *, uri: str = "sip:bot@127.0.0.1:{port}") -> bytes:
    return _msg(f"INVITE {uri} SIP/2.0", _common("INVITE", branch) + (extra or []) + ["Content-Type: application/sdp"],
                SDP)  # fmt: skip


BIG_INVITE = _invite("big9k", [f"X-Padding: {'a' * 9000}"])

TORTURE: list[bytes] = [
    # 3.1.1.1 wsinv: a short tortuous INVITE (folded headers, odd whitespace, unknown header params)
    (
        b"INVITE sip:bot@127.0.0.1:{port};unknownparam SIP/2.0\r\nTO :\r\n sip:bot@127.0.0.1 ;   tag    = 1918181833n\r\n"
        b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n'
        b"MaX-fOrWaRdS: 0068\r\nCall-ID: wsinv.ndaksdj@192.0.2.1\r\nContent-Length   : 0\r\ncseq: 0009\r\n  INVITE\r\n"
        b"Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\ns :\r\nNewFangledHeader:   newfangled value\r\n"
        b" continued newfangled value\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\n\r\n"
    ),
    # 3.1.1.2 intmeth: a method name made of every token character
    _msg(
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-visit)@127.0.0.1:{port} SIP/2.0",
        _common("!interesting-Method0123456789_*+`.%indeed'~", "intmeth"),
    ),
    # 3.1.1.3 esc01: escaped characters in the URI and the display name
    _invite("esc01", uri="sip:sips%3Auser%40example.com@127.0.0.1:{port}"),
    # 3.1.1.4 escnull: an escaped NUL in the user part
    _invite("escnull", uri="sip:null-%00-null@127.0.0.1:{port}"),
    # 3.1.1.6 lwsdisp: LWS in the display name, and no space before <
    _msg(
        "OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0",
        [
            *_common("OPTIONS", "lwsdisp")[:2],
            "From: caller<sip:caller@example.com>;tag=323",
            "To: sip:bot@127.0.0.1",
            "Call-ID: lwsdisp@127.0.0.1",
            "CSeq: 1 OPTIONS",
        ],
    ),
    # 3.1.1.7 longreq: long values everywhere (a 1 KB tag, 30 Vias, a 2 KB display name)
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [f"Via: SIP/2.0/UDP 192.0.2.{i};branch=z9hG4bKlong{i}" for i in range(30)]
        + [
            f'From: "{"A" * 2000}" <sip:caller@example.com>;tag={"t" * 1000}',
            "To: <sip:bot@127.0.0.1>",
            "Call-ID: longreq@127.0.0.1",
            "CSeq: 1 INVITE",
            "Max-Forwards: 70",
            "Content-Type: application/sdp",
        ],
        SDP,
    ),
    # 3.1.1.8 dblreq: two requests in one datagram
    _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0", _common("OPTIONS", "dbl1"))
    + _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0", _common("OPTIONS", "dbl2")),
    # 3.1.1.9 semiuri: semicolons in the user part
    _invite("semiuri", uri="sip:user;par=u%40example.net@127.0.0.1:{port}"),
    # 3.1.1.10 transports: unknown transports in Via
    _msg(
        "OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0",
        [
            "Via: SIP/2.0/SCTP 192.0.2.1;branch=z9hG4bKsctp",
            "Via: SIP/2.0/TLS 192.0.2.2;branch=z9hG4bKtls",
            "Via: SIP/2.0/UNKNOWN 192.0.2.3;branch=z9hG4bKunk",
            *_common("OPTIONS", "transports")[1:],
        ],
    ),
    # 3.1.1.11 mpart01: a multipart body
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [*_common("INVITE", "mpart01"), "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655"],
        f"--7a9cbec02ceef655\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--7a9cbec02ceef655\r\n"
        "Content-Type: image/gif\r\n\r\nGIF89a\x01\x00\x01\x00\r\n--7a9cbec02ceef655--\r\n",
    ),
    # 3.1.1.12 unreason / noreason: responses with odd reasons (nobody asked for them)
    _msg(
        "SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e",
        _common("INVITE", "unreason"),
    ),
    _msg("SIP/2.0 100 ", _common("INVITE", "noreason")),
    # 3.1.2.1 badinv01: an in-dialog request for no dialog
    _msg("BYE sip:bot@127.0.0.1:{port} SIP/2.0", _common("BYE", "badinv01", to_tag="nodialog", cseq=2)),
    # 3.1.2.2 clerr: Content-Length larger than the message (and 99999, and doubled)
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [*_common("INVITE", "clerr"), "Content-Type: application/sdp"],
        SDP,
        length=9999,
    ),
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [*_common("INVITE", "cl99999"), "Content-Type: application/sdp"],
        SDP,
        length=99999,
    ),
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [*_common("INVITE", "cldouble"), "Content-Type: application/sdp", f"Content-Length: {len(SDP) - 20}"],
        SDP,
    ),
    # 3.1.2.3 scalar02: negative Content-Length
    _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0", _common("OPTIONS", "scalar02"), length=-999),
    # 3.1.2.4 scalarlg: overlarge scalar values
    _msg(
        "REGISTER sip:127.0.0.1:{port} SIP/2.0",
        [
            *_common("REGISTER", "scalarlg", cseq=36893488147419103232),
            "Expires: 10000000000000000000",
            "Max-Forwards: 300",
        ],
    ),
    # 3.1.2.5 quotbal: an unterminated quoted string in the display name
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [
            *_common("INVITE", "quotbal")[:2],
            'To: "Mr. J. User <sip:bot@127.0.0.1>',
            "From: sip:caller@example.com;tag=37asd7",
            "Call-ID: quotbal@h",
            "CSeq: 1 INVITE",
            "Content-Type: application/sdp",
        ],
        SDP,
    ),
    # 3.1.2.6 ltgtruri: the Request-URI in < >
    _invite("ltgtruri", uri="<sip:bot@127.0.0.1:{port}>"),
    # 3.1.2.7 lwsruri: spaces inside the Request-URI
    _invite("lwsruri", uri="sip:bot name@127.0.0.1:{port}"),
    # 3.1.2.8 lwsstart: several spaces between start-line elements
    _msg("INVITE  sip:bot@127.0.0.1:{port}  SIP/2.0", _common("INVITE", "lwsstart")),
    # 3.1.2.9 trws: trailing whitespace on the start line
    _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0 \t", _common("OPTIONS", "trws")),
    # 3.1.2.10 escruri: escaped headers in the Request-URI
    _invite("escruri", uri="sip:bot@127.0.0.1:{port}?Route=%3Csip:example.com%3E"),
    # 3.1.2.11 baddate: a Date with a wrong time zone
    _msg(
        "INVITE sip:bot@127.0.0.1:{port} SIP/2.0",
        [*_common("INVITE", "baddate"), "Date: Fri, 01 Jan 2010 16:00:00 EST"],
    ),
    # 3.1.2.12 regbadct: a REGISTER whose Contact has an unquoted ? and ;
    _msg(
        "REGISTER sip:127.0.0.1:{port} SIP/2.0",
        [*_common("REGISTER", "regbadct")[:-1], "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E"],
    ),
    # 3.1.2.13 badaspec: a bad addr-spec
    _msg(
        "OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0",
        [
            *_common("OPTIONS", "badaspec")[:3],
            "To: sip:bot@127.0.0.1 ; tag=be=ok;bad",
            "Call-ID: badaspec@h",
            "CSeq: 1 OPTIONS",
        ],
    ),
    # 3.1.2.14 baddn: non-token characters in an unquoted display name
    _msg(
        "OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0",
        [
            *_common("OPTIONS", "baddn")[:2],
            "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "To: Watson, Thomas <sip:t.watson@example.org>",
            "Call-ID: baddn@h",
            "CSeq: 1 OPTIONS",
        ],
    ),
    # 3.1.2.15 badvers: an unknown protocol version
    _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/7.0", _common("OPTIONS", "badvers")),
    # 3.1.2.16 mismatch01 / mismatch02: CSeq method does not match the start line
    _msg("OPTIONS sip:bot@127.0.0.1:{port} SIP/2.0", _common("INVITE", "mismatch01")),
    _msg("NEWMETHOD sip:bot@127.0.0.1:{port} SIP/2.0", _common("INVITE", "mismatch02")),
    # 3.1.2.17 bigcode: a response code beyond 699
    _msg("SIP/2.0 4294967301 better not break the receiver", _common("OPTIONS", "bigcode")),
    # seen here: a From display name that is not UTF-8 (it once stopped a worker's call records)
    (_invite("badutf8").replace(b"From: <", b'From: "\xff\xfe\xc3\x28 caller" <')),
    # seen here: a 4 KB Request-URI
    _invite("longruri", uri="sip:" + "9" * 4000 + "@127.0.0.1:{port}"),
    # no headers at all; a bare CRLF keepalive; binary garbage
    b"INVITE sip:bot@127.0.0.1:{port} SIP/2.0\r\n\r\n",
    b"\r\n\r\n",
    bytes(random.Random(7).randrange(256) for _ in range(600)),
]


def base_messages(port: int) -> list[bytes]:
    """Eight well-formed messages for the mutator, for a target on `port`."""
    uri = f"sip:bot@127.0.0.1:{port}"
    plain = [("OPTIONS", ""), ("REGISTER", ""), ("BYE", "dlg"), ("CANCEL", ""), ("INFO", "dlg")]
    out = [_invite("base").replace(b"{port}", str(port).encode()),
           _invite("reinv").replace(b"{port}", str(port).encode()).replace(b"To: <sip:bot@127.0.0.1>", b"To: <sip:bot@127.0.0.1>;tag=abc"),
           _msg("SIP/2.0 180 Ringing", _common("INVITE", "resp"))]  # fmt: skip
    out += [_msg(f"{m} {uri} SIP/2.0", _common(m, f"b{m.lower()}", to_tag=tag)) for m, tag in plain]
    return out


def mutate(msg: bytes, rng: random.Random) -> bytes:
    """One to four random edits of `msg`; each message gets a fresh branch and Call-ID."""
    tag = f"{rng.getrandbits(48):012x}".encode()
    data = bytearray(msg.replace(b"z9hG4bK", b"z9hG4bK" + tag, 1).replace(b"Call-ID: ", b"Call-ID: " + tag, 1))
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        lines = bytes(data).split(b"\r\n")
        if op == 0 and data:  # flip bytes
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 1 and len(lines) > 2:  # drop a line
            del lines[rng.randrange(1, len(lines))]
            data = bytearray(b"\r\n".join(lines))
        elif op == 2 and len(lines) > 2:  # double a line
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = bytearray(b"\r\n".join(lines))
        elif op == 3 and data:  # cut the message short
            data = data[: rng.randrange(len(data))]
        elif op == 4:  # insert random bytes (NULs, non-UTF-8, CR/LF) somewhere
            at = rng.randrange(len(data) + 1)
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif op == 5:  # a huge header value
            at = bytes(data).find(b"\r\n") + 2
            data[at:at] = b"X-" + bytes(rng.choice(b'abc;=,<>"') for _ in range(rng.randint(500, 7000))) + b"\r\n"
        elif op == 6:  # a wrong Content-Length
            data = bytearray(bytes(data).replace(b"Content-Length: ", b"Content-Length: " + str(rng.choice(
                [0, 1, 99999, -1, 2**33, rng.randrange(500)])).encode() + b"0" * rng.randrange(2), 1))  # fmt: skip
        elif op == 7:  # line ends: bare LF, or none
            data = bytearray(bytes(data).replace(b"\r\n", rng.choice([b"\n", b"\r", b" "]), rng.randint(1, 6)))
        elif op == 8 and len(lines) > 1:  # a header name or value emptied
            i = rng.randrange(1, len(lines))
            name, _, value = lines[i].partition(b":")
            lines[i] = rng.choice([b":" + value, name + b":", name])
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)
