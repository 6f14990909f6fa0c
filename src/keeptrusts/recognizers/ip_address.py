"""Public IP addresses. Private, loopback, link-local, documentation and version-like dotted numbers are not PII."""
import ipaddress
import re

from .base import Recognizer

# Dotted numbers after these read as versions or OIDs, not addresses.
_VERSION_HINTS = re.compile(r"(?i)(?:\b|_)(?:version|ver|release|oid|objectidentifier|identifier|python|node|v|section|rfc|chapter|clause|figure|table|step)(?:\b|_)|§|==|>=|<=|~=|\^|\bv$")


_ADDRESS_WORDS = re.compile(r"(?i)\b(?:ip|ipv4|addr|address|host)\b")


# Public resolvers and anycast services: infrastructure everyone uses, not anyone's address.
_WELL_KNOWN = {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222",
               "208.67.220.220", "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111",
               "2606:4700:4700::1001", "2620:fe::fe", "2620:fe::9"}


class IpAddressRecognizer(Recognizer):
    ENTITY = "IP_ADDRESS"
    CATEGORY = "PII"
    PATTERNS = [
        ("ipv4", r"(?<![\w.:])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\w|\+\d|/\d)", 0.7),
        # Every IPv6 spelling (full, compressed anywhere, IPv4-embedded, zone id): a permissive shape that
        # ipaddress then parses; what does not parse (times, MACs, C++ scopes) is dropped there.
        ("ipv6", r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|(?=:))(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?"
                 r"(?:%[\w.]+)?(?![\w:.]|/\d)", 0.6),
    ]
    PREFILTER = [r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}",
                 r"[0-9A-Fa-f]{1,4}::[0-9A-Fa-f]{1,4}", r"::[fF]{4}:\d"]
    CONTEXT = ["ip", "addr", "host", "client", "remote", "server", "x-forwarded-for"]

    def validate(self, value, match, line):
        try:
            ip = ipaddress.ip_address(value.split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped          # ::ffff:81.2.69.160 is that IPv4 address
            value = str(ip)
        if not ip.is_global or ip.is_multicast or str(ip) in _WELL_KNOWN:
            return False
        if ip.version == 6:
            # Hex words with colons are often hashes or times; require a real global unicast shape.
            low = value.lower()
            if any(w in low for w in ("ffff:ffff", "cafe", "beef", "dead", "face", "babe", "feed")):
                return False     # documentation-style hex words
            shaped = value.count(":") >= 3 or "::" in value
            return None if shaped and low.startswith(("2", "3")) else False
        if ip.version == 4:
            doc = ipaddress.ip_network
            if "".join(value.split(".")) in "01234567890123456789":
                return False     # 1.2.3.4, 12.34.56.78: made-up examples
            if any(ip in doc(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")):
                return False
            before = line[max(0, match.start() - 40):match.start()]
            if _VERSION_HINTS.search(before) or before.rstrip().endswith("-"):
                return False
            # 1.2.3.4-like dotted runs of small numbers read as versions unless the line talks about addresses.
            # 1.2.3.4 / 19.2.3.1: versions and section numbers unless the line talks about addresses.
            if sum(len(o) == 1 for o in value.split(".")) >= 3:
                return None if _ADDRESS_WORDS.search(before) else False
        return None
