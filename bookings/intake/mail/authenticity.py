"""Who really sent a message: DKIM/SPF/DMARC verdicts, and whether they pass for a marketplace.

Email is spoofable, so a message counts as the marketplace's own only when it passes for the
marketplace's domain: its From domain is that domain (or a subdomain) and DMARC passes, or
DKIM passes with a signature of that domain. SES gives its verdicts in the receipt; mail read
from IMAP or a file carries them in the ``Authentication-Results`` header its receiving
server added on top. Only the topmost such header counts (RFC 8601: a sender can forge any
below it), or, when ``CHARTEROPS_MAIL_AUTHSERV_IDS`` lists the receiving servers, only a
header one of them wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses
from typing import Any

from django.conf import settings

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.[di]|header\.from|smtp\.mailfrom)\s*=\s*@?([^\s;()]+)", re.I)


@dataclass(frozen=True)
class Verdicts:
    """The verdicts of one message: each "pass", "fail", "none", ... or "" when unknown."""

    dkim: str = ""
    spf: str = ""
    dmarc: str = ""
    dkim_domains: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""  # "ses", the authserv-id of the header, or "" (none found)

    def as_dict(self) -> dict[str, Any]:
        return {"dkim_domains": list(self.dkim_domains), "source": self.source}


def domain_of(address: str) -> str:
    """The lower-case domain of an address, or ""."""
    _, _, domain = address.rpartition("@")
    return domain.strip().strip(">").lower()


def from_address(message: Message) -> str:
    try:
        pairs = getaddresses([str(message.get("From", ""))])
    except Exception:  # noqa: BLE001 (a malformed header is no address)
        return ""
    return next((addr for _, addr in pairs if "@" in addr), "")[:254]


def verdicts_from_ses(receipt: dict[str, Any]) -> Verdicts:
    """SES's own verdicts from an inbound notification's ``receipt`` object."""

    def status(key: str) -> str:
        value = receipt.get(key)
        return str(value.get("status", "")).lower()[:20] if isinstance(value, dict) else ""

    return Verdicts(status("dkimVerdict"), status("spfVerdict"), status("dmarcVerdict"), (), "ses")


def verdicts_from_headers(message: Message) -> Verdicts:
    """The verdicts of the trusted ``Authentication-Results`` header (see the module doc)."""
    trusted = [s.lower() for s in getattr(settings, "CHARTEROPS_MAIL_AUTHSERV_IDS", [])]
    for value in message.get_all("Authentication-Results") or []:
        text = " ".join(str(value).split())
        authserv = text.split(";", 1)[0].strip().split()[0].lower() if text else ""
        if trusted and authserv not in trusted:
            continue
        results: dict[str, str] = {}
        domains: list[str] = []
        for clause in text.split(";")[1:]:
            found = _RESULT.search(clause)
            if not found:
                continue
            method, result = found.group(1).lower(), found.group(2).lower()
            if method == "dkim":
                # several signatures: one passing signature is enough
                if result == "pass":
                    for prop, val in _PROPERTY.findall(clause):
                        if prop.lower() in ("header.d", "header.i"):
                            domains.append(domain_of(val) or val.lower())
                if results.get("dkim") != "pass":
                    results["dkim"] = result
            else:
                results.setdefault(method, result)
        return Verdicts(
            results.get("dkim", "")[:20],
            results.get("spf", "")[:20],
            results.get("dmarc", "")[:20],
            tuple(dict.fromkeys(domains)),
            authserv[:100],
        )
        # only the topmost (trusted) header counts
    return Verdicts()


def _within(domain: str, marketplace_domain: str) -> bool:
    return domain == marketplace_domain or domain.endswith("." + marketplace_domain)


def authentic_for(
    marketplace_domains: tuple[str, ...], *, sender_domain: str, verdicts: Verdicts
) -> bool:
    """Whether a message with these verdicts is really from one of the marketplace's domains."""
    if not any(_within(sender_domain, d) for d in marketplace_domains):
        return False
    if verdicts.dmarc == "pass":
        return True
    if verdicts.dkim != "pass":
        return False
    if verdicts.source == "ses":  # SES's DKIM verdict is about the From domain's signature
        return True
    return any(_within(s, d) for s in verdicts.dkim_domains for d in marketplace_domains)
